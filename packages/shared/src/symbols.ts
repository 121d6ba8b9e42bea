import { PermanentError } from './errors';

/** A trading pair as the spec names it: `BASE/QUOTE`, e.g. `BTC/USDT`. */
export interface Pair {
  base: string;
  quote: string;
  /** `BTC/USDT` */
  symbol: string;
}

const PAIR_RE = /^([A-Z0-9]{2,15})\/([A-Z0-9]{2,10})$/;
/** Quote assets recognised when a symbol comes without a slash (`BTCUSDT`). */
const KNOWN_QUOTES = ['USDT', 'USDC', 'FDUSD', 'BUSD', 'TUSD', 'USD', 'EUR', 'GBP', 'BTC', 'ETH', 'BNB'];

/** Parse `BTC/USDT`, `btc/usdt`, `BTC-USDT` or `BTCUSDT` into a pair; a clear permanent error otherwise. */
export function parsePair(input: string): Pair {
  // ASCII only: toUpperCase maps look-alikes such as 'ſ' (long s) to 'S', so 'ſui/uſdt' would pass as SUI/USDT.
  const s = /^[\x20-\x7e]*$/.test(input) ? input.trim().toUpperCase().replace('-', '/') : '';
  let m = PAIR_RE.exec(s);
  if (!m && !s.includes('/')) {
    const quote = KNOWN_QUOTES.find((q) => s.endsWith(q) && s.length > q.length + 1);
    if (quote) m = PAIR_RE.exec(`${s.slice(0, -quote.length)}/${quote}`);
  }
  if (!m) {
    throw new PermanentError('SYMBOL_INVALID', `symbol '${input}' is not a pair: expected BASE/QUOTE such as BTC/USDT`, { symbol: input });
  }
  return { base: m[1]!, quote: m[2]!, symbol: `${m[1]}/${m[2]}` };
}

/** `BTCUSDT`: the stem of candle files (`BTCUSDT-1m.csv.gz`) and exchange ids. */
export function pairStem(p: Pair): string {
  return `${p.base}${p.quote}`;
}

/** `BTC-USDT`: used in Dropbox file names and job ids (no slash, no colon). */
export function pairSlug(p: Pair): string {
  return `${p.base}-${p.quote}`;
}
