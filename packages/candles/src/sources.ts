import { PermanentError } from '@engine/shared';
import { CcxtSource, type CcxtSourceOptions } from './ccxt-source';
import { CsvSource } from './csv-source';
import type { CandleSource, SourceSpec } from './source';

const EXCHANGE_ID = /^[a-z][a-z0-9_]*$/;

/**
 * Parse a `--source` value: `csv:DIR` (a folder of `<BASEQUOTE>-1m.csv[.gz]`) or a ccxt
 * exchange id (`binance`, the default, `kraken`, …). Whether the id is a real ccxt
 * exchange is checked when the source is first used (loading ccxt is slow).
 */
export function parseSource(value: string): SourceSpec {
  const v = value.trim();
  if (v.startsWith('csv:')) {
    const dir = v.slice(4);
    if (dir === '') throw new PermanentError('SOURCE_INVALID', `source '${value}' names no folder: expected csv:DIR`, { source: value });
    return { kind: 'csv', dir };
  }
  if (!EXCHANGE_ID.test(v)) {
    throw new PermanentError('SOURCE_INVALID', `source '${value}' is neither csv:DIR nor a ccxt exchange id (lower-case, e.g. binance)`, { source: value });
  }
  return { kind: 'exchange', exchangeId: v };
}

/** Create the source a spec names. Exchange options are ignored for CSV folders. */
export function openSource(spec: SourceSpec | string, opts: CcxtSourceOptions = {}): CandleSource {
  const s = typeof spec === 'string' ? parseSource(spec) : spec;
  return s.kind === 'csv' ? new CsvSource(s.dir) : new CcxtSource(s.exchangeId, opts);
}
