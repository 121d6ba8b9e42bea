/**
 * The candle store: correct 1-minute candles for any symbol and window, from an exchange
 * (ccxt) or a folder of CSV files, cached in Apache Arrow IPC files (SPEC §1.1).
 */
export { loadCandles, type LoadCandlesOptions, type LoadedCandles, type LoadSummary, type LoadProgress } from './load-candles';
export { resolveWindow, type WindowRequest, type CandleWindow } from './window';
export { parseSource, openSource } from './sources';
export type { CandleSource, FetchContext, SourceSpec } from './source';
export { CcxtSource, parseRetryAfter, type CcxtSourceOptions, type RetryOptions } from './ccxt-source';
export { CsvSource } from './csv-source';
export { CandleCsvParser, parseCandleCsv } from './csv-parser';
export { candleFilePath, readCandleFile, realCandleDir, type CandleFileRows } from './candle-file';
export { CandleCache, CACHE_FORMAT } from './arrow-cache';
export { validateRawCandles, checkHistory, gapStats, DEFAULT_GAP_LIMITS, CANDLES_INVALID, type CandleRule, type GapLimits, type GapStats } from './validate';
export { toMinuteGrid, isExactGrid } from './grid';
export { addRange, missingRanges, type TimeRange } from './coverage';
export { CANDLE_COLUMNS, sliceRawByTime, mergeRaw, concatRaw, rawFromTuples, type RawCandles } from './raw-candles';
