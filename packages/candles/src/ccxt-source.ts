import type { Exchange } from 'ccxt';
import { DataError, MINUTE_MS, PermanentError, TransientError, formatUtcMinute, wrapError, type Pair } from '@engine/shared';
import { allocRaw, subRaw, type RawCandles } from './raw-candles';
import type { CandleSource, FetchContext, FundingFetchContext, FundingPage } from './source';
import type { TimeRange } from './coverage';

type CcxtModule = typeof import('ccxt');

/** A missing candle younger than this may still be on its way; it is not recorded as a gap. */
const SETTLE_MS = 2 * MINUTE_MS;

/** Funding events per request: Binance's `/fapi/v1/fundingRate` maximum. */
const FUNDING_PAGE_SIZE = 1000;

/**
 * Which markets a source reads: `spot`, or `perp` (the linear perpetual swap settled in
 * the pair's quote, e.g. `BTC/USDT:USDT` for our `BTC/USDT`). ccxt gives each
 * derivatives-only venue its own exchange id (`binanceusdm` beside `binance`), so the id
 * decides: an exchange that lists no spot markets is read as perpetuals. The cache key is
 * the id either way, so spot and perpetual candles never share a cache file.
 */
export type MarketKind = 'spot' | 'perp';

/** How a failed request is retried. */
export interface RetryOptions {
  /** Tries per request, the first included. Default 5. */
  attempts?: number;
  /** Backoff before try k+1 is `baseDelayMs · 2^(k-1)` unless the server sent Retry-After. Default 500. */
  baseDelayMs?: number;
  /** Cap on any one wait, Retry-After included. Default 60 000. */
  maxDelayMs?: number;
}

export interface CcxtSourceOptions {
  /**
   * Replace the scheme, host and port of every REST base URL of the exchange (e.g. a
   * local fake in tests, or a mirror). Paths are kept: `https://api.binance.com/api/v3`
   * becomes `<exchangeUrl>/api/v3`.
   */
  exchangeUrl?: string;
  /** ccxt's `rateLimit` (ms between requests of cost 1); default: the exchange's own. ccxt throttles either way. */
  rateLimitMs?: number;
  /**
   * Candles per request. Default 1000: Binance's spot maximum, and the cheapest page for
   * its futures too (1000 candles weigh 5, 1500 weigh 10; ccxt also caps Binance at 1000).
   */
  pageSize?: number;
  /** Per-request timeout. Default 15 000 ms. */
  timeoutMs?: number;
  retry?: RetryOptions;
}

/**
 * Candles from an exchange's public REST API through the real ccxt client (no key).
 * Pages forward from the range start, `pageSize` candles a request, through ccxt's own
 * rate limiter; retries network errors and 429s (honouring Retry-After) and turns a
 * request that keeps failing into a `TransientError`. Never returns a candle that is
 * still forming (open time + 1 min > now).
 *
 * Spot exchanges (`binance`) serve the spot pair; derivatives-only ones (`binanceusdm`)
 * serve its linear perpetual (see `MarketKind`), whose funding history `fetchFunding`
 * pages through the same way, 1000 events a request.
 */
export class CcxtSource implements CandleSource {
  readonly kind = 'exchange' as const;
  readonly id: string;
  readonly cacheKey: string;
  private count = 0;
  private ccxt: CcxtModule | undefined;
  private exchangePromise: Promise<Exchange> | undefined;
  /** Set when the exchange is created, before any market is asked for. */
  private markets: MarketKind = 'spot';
  private readonly pageSize: number;
  private readonly retry: Required<RetryOptions>;

  constructor(readonly exchangeId: string, private readonly opts: CcxtSourceOptions = {}) {
    this.id = exchangeId;
    this.cacheKey = exchangeId;
    this.pageSize = opts.pageSize ?? 1000;
    this.retry = { attempts: opts.retry?.attempts ?? 5, baseDelayMs: opts.retry?.baseDelayMs ?? 500, maxDelayMs: opts.retry?.maxDelayMs ?? 60_000 };
  }

  get requests(): number {
    return this.count;
  }

  async fingerprint(): Promise<string> {
    return this.exchangeId;
  }

  private exchange(): Promise<Exchange> {
    this.exchangePromise ??= this.createExchange();
    return this.exchangePromise;
  }

  private async createExchange(): Promise<Exchange> {
    // Loaded on first use: ccxt takes most of a second to import and CSV runs never need it.
    const mod = await import('ccxt');
    // Native import() gives the ESM namespace; under jest's CommonJS it is the CJS export. Both name the classes.
    const ns = (typeof (mod as { Exchange?: unknown }).Exchange === 'function' ? mod : (mod as { default: unknown }).default) as CcxtModule;
    this.ccxt = ns;
    const Klass = (ns as unknown as Record<string, (new (config: Record<string, unknown>) => Exchange) | undefined>)[this.exchangeId];
    if (typeof Klass !== 'function' || !(Klass.prototype instanceof ns.Exchange)) {
      throw new PermanentError('SOURCE_INVALID', `unknown exchange '${this.exchangeId}': expected a ccxt exchange id such as binance, kraken, okx`, { source: this.exchangeId });
    }
    const ex = new Klass({ enableRateLimit: true, timeout: this.opts.timeoutMs ?? 15_000, ...(this.opts.rateLimitMs !== undefined ? { rateLimit: this.opts.rateLimitMs } : {}) });
    if (this.opts.exchangeUrl !== undefined) ex.urls['api'] = rebaseUrls(ex.urls['api'], this.opts.exchangeUrl) as typeof ex.urls['api'];
    this.markets = ex.has['spot'] === false ? 'perp' : 'spot';
    restrictMarkets(ex, this.markets);
    // Count every HTTP request (retries and market loading included) for the summary.
    const send = ex.fetch.bind(ex);
    ex.fetch = (url: unknown, method?: string, headers?: unknown, body?: unknown) => {
      this.count++;
      return send(url, method, headers, body);
    };
    return ex;
  }

  /** The ccxt symbol of `pair` in this source's markets, after checking the exchange lists it. */
  private async market(ex: Exchange, pair: Pair, signal: AbortSignal | undefined): Promise<string> {
    await this.call(ex, 'loadMarkets', pair, () => ex.loadMarkets(), signal);
    if (this.markets === 'spot') {
      if (ex.markets?.[pair.symbol]?.spot !== true) {
        throw new PermanentError('SYMBOL_UNKNOWN', `${this.exchangeId} has no spot market ${pair.symbol}`, { symbol: pair.symbol, source: this.exchangeId });
      }
      return pair.symbol;
    }
    const symbol = `${pair.symbol}:${pair.quote}`;
    const m = ex.markets?.[symbol];
    if (m?.swap !== true || m.linear !== true) {
      throw new PermanentError('SYMBOL_UNKNOWN', `${this.exchangeId} has no linear perpetual ${symbol} (for ${pair.symbol})`, { symbol: pair.symbol, market: symbol, source: this.exchangeId });
    }
    return symbol;
  }

  async fetch(pair: Pair, range: TimeRange, ctx: FetchContext): Promise<void> {
    const ex = await this.exchange();
    const symbol = await this.market(ex, pair, ctx.signal);
    // The candle whose open time is the current minute is still forming: stop before it.
    const end = Math.min(range[1], Math.floor(ctx.now / MINUTE_MS) * MINUTE_MS);
    let since = range[0];
    while (since < end) {
      const from = since;
      const page = await this.call(ex, 'fetchOHLCV', pair, () => ex.fetchOHLCV(symbol, '1m', from, this.pageSize, { until: end - 1 }), ctx.signal, from);
      const rows = pageRows(page, from, end, ctx.now);
      if (page.length === 0) {
        // Nothing from `since` to the end of the range: a gap at the source (or not listed
        // yet). Minutes that closed only just now may merely be late: leave them uncovered,
        // so they are asked for again next time rather than cached as a gap for good.
        const settled = Math.min(end, Math.floor(ctx.now / MINUTE_MS) * MINUTE_MS - SETTLE_MS);
        if (settled > from) await ctx.onBatch(rows, [from, settled]);
        break;
      }
      const lastTs = Number(page[page.length - 1]![0]);
      if (!(lastTs >= from)) {
        throw new DataError('CANDLES_INVALID', `${pair.symbol} from ${this.exchangeId}: asked for candles from ${formatUtcMinute(from)}, got a page ending at ${formatUtcMinute(lastTs)}`, { symbol: pair.symbol, source: this.exchangeId, rule: 'sorted' });
      }
      since = Math.min(end, lastTs + MINUTE_MS);
      await ctx.onBatch(rows, [from, since]);
    }
  }

  /**
   * Funding events of `pair`'s linear perpetual in `range`, paged forward 1000 a request.
   * The caller keeps `range` to the settled past: an event is reported once it happened.
   * A spot exchange has no funding: that is a permanent error naming the perpetual source.
   */
  async fetchFunding(pair: Pair, range: TimeRange, ctx: FundingFetchContext): Promise<void> {
    const ex = await this.exchange();
    if (this.markets !== 'perp' || ex.has['fetchFundingRateHistory'] !== true) {
      const why = this.markets !== 'perp' ? 'serves spot markets, which have no funding' : 'has no funding history in ccxt (fetchFundingRateHistory)';
      throw new PermanentError(
        'FUNDING_UNAVAILABLE',
        `${pair.symbol}: ${this.exchangeId} ${why}: funding rates need a perpetual-futures source such as binanceusdm`,
        { symbol: pair.symbol, source: this.exchangeId },
      );
    }
    const symbol = await this.market(ex, pair, ctx.signal);
    const end = range[1];
    let since = range[0];
    while (since < end) {
      const from = since;
      const page = await this.call(ex, 'fetchFundingRateHistory', pair, () => ex.fetchFundingRateHistory(symbol, from, FUNDING_PAGE_SIZE, { until: end - 1 }), ctx.signal, from);
      const rows = fundingRows(page, from, end);
      if (page.length === 0) {
        await ctx.onBatch(rows, [from, end]);
        break;
      }
      const lastTs = Number(page[page.length - 1]!.timestamp);
      if (!(lastTs >= from)) {
        throw new DataError('FUNDING_INVALID', `${pair.symbol} funding from ${this.exchangeId}: asked for events from ${isoTime(from)}, got a page ending at ${isoTime(lastTs)}`, { symbol: pair.symbol, source: this.exchangeId, rule: 'sorted' });
      }
      // A short page is all the exchange has up to `end` (it was asked for up to 1000): no need to ask again.
      since = page.length < FUNDING_PAGE_SIZE ? end : Math.min(end, lastTs + 1);
      await ctx.onBatch(rows, [from, since]);
    }
  }

  /** One ccxt call with retries; ccxt errors become engine errors. */
  private async call<T>(ex: Exchange, what: string, pair: Pair, fn: () => Promise<T>, signal: AbortSignal | undefined, since?: number): Promise<T> {
    const ccxt = this.ccxt!;
    const { attempts, baseDelayMs, maxDelayMs } = this.retry;
    const where = `${this.exchangeId} ${what} ${pair.symbol}${since !== undefined ? ` from ${formatUtcMinute(since)}` : ''}`;
    for (let attempt = 1; ; attempt++) {
      signal?.throwIfAborted();
      try {
        return await fn();
      } catch (err) {
        if (err instanceof ccxt.BadSymbol) {
          throw new PermanentError('SYMBOL_UNKNOWN', `${this.exchangeId} has no market ${pair.symbol}: ${(err as Error).message}`, { symbol: pair.symbol, source: this.exchangeId }, err);
        }
        if (err instanceof ccxt.BadRequest || err instanceof ccxt.AuthenticationError || err instanceof ccxt.NotSupported || err instanceof ccxt.ArgumentsRequired) {
          throw new PermanentError('EXCHANGE_REJECTED', `${where} was rejected: ${(err as Error).message}`, { symbol: pair.symbol, source: this.exchangeId }, err);
        }
        if (!(err instanceof ccxt.OperationFailed)) throw wrapError(err, where, { symbol: pair.symbol, source: this.exchangeId });
        const limited = err instanceof ccxt.RateLimitExceeded || err instanceof ccxt.DDoSProtection;
        const retryAfterMs = limited ? parseRetryAfter(ex.last_response_headers?.['Retry-After']) : undefined;
        if (attempt >= attempts) {
          throw new TransientError(
            limited ? 'EXCHANGE_RATE_LIMITED' : 'EXCHANGE_UNAVAILABLE',
            `${where} failed ${attempts} times${limited ? ' (rate limited)' : ''}: ${(err as Error).message}`,
            { symbol: pair.symbol, source: this.exchangeId, attempts, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) },
            err,
          );
        }
        const wait = Math.min(maxDelayMs, retryAfterMs ?? baseDelayMs * 2 ** (attempt - 1));
        await sleep(wait, signal);
      }
    }
  }
}

/** Rows of one ccxt page inside `[from, end)` that are complete at `now`. */
function pageRows(page: ReadonlyArray<ReadonlyArray<number | undefined>>, from: number, end: number, now: number): RawCandles {
  const out = allocRaw(page.length);
  let n = 0;
  for (const c of page) {
    const t = Number(c[0]);
    // Outside the asked range (an exchange ignoring endTime) or still forming: not ours.
    if (t < from || t >= end || t + MINUTE_MS > now) continue;
    out.ts[n] = t;
    out.open[n] = num(c[1]);
    out.high[n] = num(c[2]);
    out.low[n] = num(c[3]);
    out.close[n] = num(c[4]);
    out.volume[n] = num(c[5]);
    n++;
  }
  out.length = n;
  return subRaw(out, 0, n);
}

/** Events of one ccxt page inside `[from, end)`; unreadable values stay NaN for validation to name. */
function fundingRows(page: ReadonlyArray<{ timestamp?: number; fundingRate?: number }>, from: number, end: number): FundingPage {
  const ts = new Float64Array(page.length);
  const rate = new Float64Array(page.length);
  let n = 0;
  for (const e of page) {
    const t = num(e.timestamp);
    // Outside the asked range (an exchange ignoring startTime or endTime): not ours.
    if (t < from || t >= end) continue;
    ts[n] = t;
    // `+ 0` turns a "-0.00000000" into 0: the JSON cache could not keep the sign, so a fresh and a cached load would differ.
    rate[n] = num(e.fundingRate) + 0;
    n++;
  }
  return { length: n, ts: ts.subarray(0, n), rate: rate.subarray(0, n) };
}

function isoTime(ms: number): string {
  return Number.isFinite(ms) ? new Date(ms).toISOString() : String(ms);
}

function num(v: number | undefined): number {
  // ccxt gives undefined for a field the exchange left out: NaN lets validation name it.
  return typeof v === 'number' ? v : NaN;
}

/** Retry-After as seconds or an HTTP date → ms; undefined if absent or unreadable. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const s = Number(value);
  if (Number.isFinite(s) && s >= 0) return s * 1000;
  const at = Date.parse(value);
  return Number.isFinite(at) ? Math.max(0, at - now) : undefined;
}

function rebaseUrls(api: unknown, base: string): unknown {
  const root = base.replace(/\/+$/, '');
  const rebase = (v: unknown): unknown => {
    if (typeof v === 'string') return v.replace(/^https?:\/\/[^/]+/, root);
    if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, rebase(x)]));
    return v;
  };
  return rebase(api);
}

/**
 * Load the markets the source reads only (spot, or linear contracts for perpetuals).
 * Binance-style exchanges otherwise also load the other kinds from other hosts on
 * `loadMarkets`, and try a keyed currencies call.
 */
function restrictMarkets(ex: Exchange, kind: MarketKind): void {
  const type = kind === 'spot' ? 'spot' : 'linear';
  const fm: unknown = ex.options['fetchMarkets'];
  if (Array.isArray(fm) && fm.includes(type)) ex.options['fetchMarkets'] = [type];
  else if (fm !== null && typeof fm === 'object' && Array.isArray((fm as { types?: unknown }).types) && (fm as { types: unknown[] }).types.includes(type)) {
    ex.options['fetchMarkets'] = { ...(fm as object), types: [type] };
  }
  // Candles need markets only; currency lists are often a keyed endpoint.
  ex.has['fetchCurrencies'] = false;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
