/**
 * The candle store: correct 1-minute candles for any symbol and window, from an exchange
 * (ccxt) or a folder of CSV files, cached in Apache Arrow IPC files (SPEC §1.1); and the
 * funding history of perpetuals, cached beside them.
 */
export { loadCandles, type LoadCandlesOptions, type LoadedCandles, type LoadSummary, type LoadProgress } from './load-candles';
export { resolveWindow, type WindowRequest, type CandleWindow } from './window';
export { parseSource, openSource } from './sources';
export type { CandleSource, FetchContext, FundingFetchContext, FundingPage, SourceSpec } from './source';
export { CcxtSource, parseRetryAfter, type CcxtSourceOptions, type MarketKind, type RetryOptions } from './ccxt-source';
export { loadFundingRates, validateFunding, FUNDING_INVALID, FUNDING_SETTLE_MS, MAX_ABS_FUNDING_RATE, type FundingRates, type FundingRule, type LoadFundingOptions } from './funding';
export { FundingCache, FUNDING_CACHE_FORMAT } from './funding-cache';
export { CsvSource } from './csv-source';
export { CandleCsvParser, parseCandleCsv } from './csv-parser';
export { candleFilePath, readCandleFile, realCandleDir, type CandleFileRows } from './candle-file';
export { CandleCache, CACHE_FORMAT } from './arrow-cache';
export { validateRawCandles, checkHistory, gapStats, DEFAULT_GAP_LIMITS, CANDLES_INVALID, type CandleRule, type GapLimits, type GapStats } from './validate';
export { toMinuteGrid, isExactGrid } from './grid';
export { addRange, missingRanges, type TimeRange } from './coverage';
export { CANDLE_COLUMNS, sliceRawByTime, mergeRaw, concatRaw, rawFromTuples, type RawCandles } from './raw-candles';
