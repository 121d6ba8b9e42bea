import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';

/**
 * A local stand-in for Binance's public spot REST API, enough for the real ccxt client's
 * `loadMarkets` (spot only) and `fetchOHLCV`: `GET /api/v3/exchangeInfo`,
 * `/api/v3/klines` (symbol, interval=1m, startTime, endTime, limit ≤ 1000), `/api/v3/time`
 * and `/api/v3/ping`. It serves the real candles of `<dataDir>/<SYMBOL>-1m.csv.gz`, knows a
 * settable "now" (candles opening after it do not exist yet; the one containing it is
 * still forming and is served, as Binance does), and answers 429 with Retry-After when
 * hammered. Every request is recorded.
 *
 * With `futures`, it is also Binance's USDⓈ-M futures API as ccxt's `binanceusdm` uses it:
 * `/fapi/v1/exchangeInfo` (perpetuals settled in the quote asset), `/fapi/v1/klines`
 * (limit ≤ 1500) and `/fapi/v1/fundingRate` (symbol, startTime, endTime, limit ≤ 1000,
 * default 100; events at 00, 08 and 16 UTC with synthetic rates drawn from a seed), plus
 * `/fapi/v1/time` and `/fapi/v1/ping`.
 *
 * The CSV is read with its own few lines of code, not the candle package's parser, so a
 * parser bug cannot hide on both sides of a test.
 */
export interface FakeBinanceOptions {
  /** Folder of `<SYMBOL>-1m.csv.gz` files (the format of ../shared/data/ohlcv). */
  dataDir: string;
  /** Symbols to list, Binance ids (`BTCUSDT`). Default: every file in dataDir. */
  symbols?: string[];
  /** The exchange's clock. Default: the real clock. Change later with `setNow`. */
  nowMs?: number;
  /** At most this many requests per window, then 429 with Retry-After (seconds to the window's end, rounded up). */
  rateLimit?: { maxRequestsPerWindow: number; windowMs: number };
  /** Answer the first n data requests (klines, spot or futures, and funding) with 429. */
  failFirst?: number;
  /** Retry-After (seconds) sent with `failFirst` 429s. Default 1. */
  retryAfterSeconds?: number;
  /** Cut the connection of every klines request after the first n (as if the server died mid-download). */
  dieAfterKlines?: number;
  /** Serve USDⓈ-M perpetuals under /fapi/v1. */
  futures?: FakeFuturesOptions;
}

export interface FakeFuturesOptions {
  /** Folder of the perpetuals' `<SYMBOL>-1m.csv.gz` candles. Default: `dataDir` (the spot candles stand in). */
  dataDir?: string;
  /** Perpetuals to list, Binance ids (`BTCUSDT`). Default: every file in the folder. */
  symbols?: string[];
  /** First funding time (an 8-hour mark, epoch ms). Default 2025-01-01T00:00Z. Events run to the fake's "now". */
  fundingFrom?: number;
  /** Seed of the synthetic funding rates. Default 1. */
  fundingSeed?: number;
  /** Rewrite a symbol's funding history before it is served (a test breaking one event). */
  editFunding?: (symbol: string, rows: FundingRow[]) => FundingRow[];
}

/** One row of `/fapi/v1/fundingRate`, as Binance sends it. */
export interface FundingRow {
  symbol: string;
  fundingTime: number;
  /** Decimal string, e.g. `"0.00010000"`. */
  fundingRate: string;
  markPrice: string;
}

export interface RecordedRequest {
  path: string;
  query: Record<string, string>;
  status: number;
  /** Arrival, epoch ms (real clock). */
  at: number;
}

export interface FakeBinance {
  url: string;
  port: number;
  requests: RecordedRequest[];
  /** Requests to /api/v3/klines only. */
  klines(): RecordedRequest[];
  /** Requests to /fapi/v1/klines only. */
  futuresKlines(): RecordedRequest[];
  /** Requests to /fapi/v1/fundingRate only. */
  fundingRequests(): RecordedRequest[];
  /** Requests so far, per path. */
  countByPath(): Record<string, number>;
  /** Every funding event the fake holds for a perpetual (Binance id), including those after "now". */
  fundingHistory(symbol: string): FundingRow[];
  setNow(ms: number): void;
  readonly nowMs: number;
  close(): Promise<void>;
}

/** One symbol's candles: open times as numbers, the rest as Binance's decimal strings. */
interface Series {
  ts: number[];
  fields: string[][];
}

const loaded = new Map<string, Series>();

function loadSeries(file: string): Series {
  const hit = loaded.get(file);
  if (hit) return hit;
  const text = gunzipSync(readFileSync(file)).toString('utf8');
  const lines = text.split('\n');
  const ts: number[] = [];
  const fields: string[][] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    const parts = line.split(',');
    ts.push(Number(parts[0]));
    fields.push(parts.slice(1, 6));
  }
  const s = { ts, fields };
  loaded.set(file, s);
  return s;
}

/** First index with ts ≥ t. */
function lowerBound(ts: number[], t: number): number {
  let lo = 0;
  let hi = ts.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ts[mid]! < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index with fundingTime ≥ t. */
function lowerBoundFunding(rows: FundingRow[], t: number): number {
  let lo = 0;
  let hi = rows.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (rows[mid]!.fundingTime < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

const EIGHT_HOURS_MS = 8 * 3_600_000;

/** Three years of 8-hourly funding from `from`: a 0.01% base rate plus a premium drawn from (seed, symbol, time). */
function syntheticFunding(symbol: string, from: number, seed: number): FundingRow[] {
  const rows: FundingRow[] = [];
  for (let t = from; t < from + 3 * 365 * 86_400_000; t += EIGHT_HOURS_MS) {
    const u = unitHash(`${seed}:${symbol}:${t}`);
    // Mostly within ±0.02% of the base, now and then a squeeze up to ±0.3%.
    const premium = u < 0.02 ? (u / 0.02 - 0.5) * 0.006 : (u - 0.5) * 0.0004;
    // Binance writes a zero rate as 0.00000000, never with a sign.
    const rate = (0.0001 + premium).toFixed(8).replace(/^-(0\.0+)$/, '$1');
    rows.push({ symbol, fundingTime: t, fundingRate: rate, markPrice: '' });
  }
  return rows;
}

/** FNV-1a then a final avalanche: a uniform number in [0, 1) from a string. */
function unitHash(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return ((h ^ (h >>> 16)) >>> 0) / 4294967296;
}

function splitSymbol(symbol: string): { base: string; quote: string } {
  const quotes = ['USDT', 'USDC', 'FDUSD', 'BTC', 'ETH', 'BNB'];
  const quote = quotes.find((q) => symbol.endsWith(q) && symbol.length > q.length) ?? 'USDT';
  return { base: symbol.slice(0, -quote.length), quote };
}

/** A USDⓈ-M perpetual as `/fapi/v1/exchangeInfo` lists it. */
function perpInfo(symbol: string): Record<string, unknown> {
  const { base, quote } = splitSymbol(symbol);
  return {
    symbol,
    pair: symbol,
    contractType: 'PERPETUAL',
    deliveryDate: 4133404800000,
    onboardDate: 1569398400000,
    status: 'TRADING',
    maintMarginPercent: '2.5000',
    requiredMarginPercent: '5.0000',
    baseAsset: base,
    quoteAsset: quote,
    marginAsset: quote,
    pricePrecision: 2,
    quantityPrecision: 3,
    baseAssetPrecision: 8,
    quotePrecision: 8,
    underlyingType: 'COIN',
    underlyingSubType: [],
    settlePlan: 0,
    triggerProtect: '0.0500',
    liquidationFee: '0.012500',
    marketTakeBound: '0.05',
    maxMoveOrderLimit: 10000,
    filters: [
      { filterType: 'PRICE_FILTER', minPrice: '0.10', maxPrice: '4529764', tickSize: '0.10' },
      { filterType: 'LOT_SIZE', minQty: '0.001', maxQty: '1000', stepSize: '0.001' },
      { filterType: 'MARKET_LOT_SIZE', minQty: '0.001', maxQty: '120', stepSize: '0.001' },
      { filterType: 'MAX_NUM_ORDERS', limit: 200 },
      { filterType: 'MAX_NUM_ALGO_ORDERS', limit: 10 },
      { filterType: 'MIN_NOTIONAL', notional: '100' },
      { filterType: 'PERCENT_PRICE', multiplierUp: '1.0500', multiplierDown: '0.9500', multiplierDecimal: '4' },
    ],
    orderTypes: ['LIMIT', 'MARKET', 'STOP', 'STOP_MARKET', 'TAKE_PROFIT', 'TAKE_PROFIT_MARKET', 'TRAILING_STOP_MARKET'],
    timeInForce: ['GTC', 'IOC', 'FOK', 'GTX', 'GTD'],
  };
}

function symbolInfo(symbol: string): Record<string, unknown> {
  const { base, quote } = splitSymbol(symbol);
  return {
    symbol,
    status: 'TRADING',
    baseAsset: base,
    baseAssetPrecision: 8,
    quoteAsset: quote,
    quotePrecision: 8,
    quoteAssetPrecision: 8,
    baseCommissionPrecision: 8,
    quoteCommissionPrecision: 8,
    orderTypes: ['LIMIT', 'LIMIT_MAKER', 'MARKET', 'STOP_LOSS_LIMIT', 'TAKE_PROFIT_LIMIT'],
    icebergAllowed: true,
    ocoAllowed: true,
    quoteOrderQtyMarketAllowed: true,
    allowTrailingStop: true,
    cancelReplaceAllowed: true,
    isSpotTradingAllowed: true,
    isMarginTradingAllowed: false,
    filters: [
      { filterType: 'PRICE_FILTER', minPrice: '0.01000000', maxPrice: '1000000.00000000', tickSize: '0.01000000' },
      { filterType: 'LOT_SIZE', minQty: '0.00001000', maxQty: '9000.00000000', stepSize: '0.00001000' },
      { filterType: 'NOTIONAL', minNotional: '5.00000000', applyMinToMarket: true, maxNotional: '9000000.00000000', applyMaxToMarket: false, avgPriceMins: 5 },
    ],
    permissions: [],
    permissionSets: [['SPOT']],
    defaultSelfTradePreventionMode: 'EXPIRE_MAKER',
    allowedSelfTradePreventionModes: ['EXPIRE_TAKER', 'EXPIRE_MAKER', 'EXPIRE_BOTH'],
  };
}

/** `<SYMBOL>-1m.csv.gz` files of a folder, by Binance id; only `symbols` when given (then read now, so a test's first request does not pay for the file). */
function candleFiles(dir: string, symbols: string[] | undefined): Map<string, string> {
  const files = new Map<string, string>();
  for (const name of readdirSync(dir)) {
    const m = /^([A-Z0-9]+)-1m\.csv\.gz$/.exec(name);
    if (m && (!symbols || symbols.includes(m[1]!))) files.set(m[1]!, path.join(dir, name));
  }
  if (symbols) for (const file of files.values()) loadSeries(file);
  return files;
}

export async function startFakeBinance(opts: FakeBinanceOptions): Promise<FakeBinance> {
  const files = candleFiles(opts.dataDir, opts.symbols);
  const fut = opts.futures;
  const perpFiles = fut ? candleFiles(fut.dataDir ?? opts.dataDir, fut.symbols) : new Map<string, string>();
  const fundingBySymbol = new Map<string, FundingRow[]>();
  const funding = (symbol: string): FundingRow[] => {
    let rows = fundingBySymbol.get(symbol);
    if (!rows) {
      rows = syntheticFunding(symbol, fut?.fundingFrom ?? Date.UTC(2025, 0, 1), fut?.fundingSeed ?? 1);
      if (fut?.editFunding) rows = fut.editFunding(symbol, rows);
      fundingBySymbol.set(symbol, rows);
    }
    return rows;
  };
  let now = opts.nowMs;
  const clock = (): number => now ?? Date.now();
  const requests: RecordedRequest[] = [];
  let failLeft = opts.failFirst ?? 0;
  let klinesServed = 0;
  let windowStart = 0;
  let windowCount = 0;

  const send = (res: ServerResponse, rec: RecordedRequest, status: number, body: unknown, headers: Record<string, string> = {}): void => {
    rec.status = status;
    res.writeHead(status, { 'content-type': 'application/json;charset=UTF-8', ...headers });
    res.end(JSON.stringify(body));
  };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const u = new URL(req.url ?? '/', 'http://127.0.0.1');
    const rec: RecordedRequest = { path: u.pathname, query: Object.fromEntries(u.searchParams), status: 0, at: Date.now() };
    requests.push(rec);

    if (opts.rateLimit) {
      const t = Date.now();
      if (t - windowStart >= opts.rateLimit.windowMs) {
        windowStart = t;
        windowCount = 0;
      }
      if (++windowCount > opts.rateLimit.maxRequestsPerWindow) {
        const retry = Math.max(1, Math.ceil((windowStart + opts.rateLimit.windowMs - t) / 1000));
        send(res, rec, 429, { code: -1003, msg: 'Too many requests; current limit of IP is exceeded.' }, { 'retry-after': String(retry) });
        return;
      }
    }

    switch (u.pathname) {
      case '/api/v3/ping':
        send(res, rec, 200, {});
        return;
      case '/api/v3/time':
        send(res, rec, 200, { serverTime: clock() });
        return;
      case '/api/v3/exchangeInfo':
        send(res, rec, 200, {
          timezone: 'UTC',
          serverTime: clock(),
          rateLimits: [
            { rateLimitType: 'REQUEST_WEIGHT', interval: 'MINUTE', intervalNum: 1, limit: 6000 },
            { rateLimitType: 'RAW_REQUESTS', interval: 'MINUTE', intervalNum: 5, limit: 61000 },
          ],
          exchangeFilters: [],
          symbols: [...files.keys()].sort().map(symbolInfo),
        });
        return;
      case '/api/v3/klines':
        klines(u.searchParams, res, rec, files, 1000);
        return;
      case '/fapi/v1/ping':
        if (!fut) break;
        send(res, rec, 200, {});
        return;
      case '/fapi/v1/time':
        if (!fut) break;
        send(res, rec, 200, { serverTime: clock() });
        return;
      case '/fapi/v1/exchangeInfo':
        if (!fut) break;
        send(res, rec, 200, {
          timezone: 'UTC',
          serverTime: clock(),
          futuresType: 'U_MARGINED',
          rateLimits: [
            { rateLimitType: 'REQUEST_WEIGHT', interval: 'MINUTE', intervalNum: 1, limit: 2400 },
            { rateLimitType: 'ORDERS', interval: 'MINUTE', intervalNum: 1, limit: 1200 },
            { rateLimitType: 'ORDERS', interval: 'SECOND', intervalNum: 10, limit: 300 },
          ],
          exchangeFilters: [],
          assets: [{ asset: 'USDT', marginAvailable: true, autoAssetExchange: '-10000' }],
          symbols: [...perpFiles.keys()].sort().map(perpInfo),
        });
        return;
      case '/fapi/v1/klines':
        if (!fut) break;
        klines(u.searchParams, res, rec, perpFiles, 1500);
        return;
      case '/fapi/v1/fundingRate':
        if (!fut) break;
        fundingRate(u.searchParams, res, rec);
        return;
    }
    send(res, rec, 404, { code: -1, msg: `fake binance does not serve ${u.pathname}` });
  };

  /** Answer a data request with 429 while `failFirst` lasts; true when it did. */
  const failing = (res: ServerResponse, rec: RecordedRequest): boolean => {
    if (failLeft <= 0) return false;
    failLeft--;
    send(res, rec, 429, { code: -1003, msg: 'Too many requests; current limit of IP is exceeded.' }, { 'retry-after': String(opts.retryAfterSeconds ?? 1) });
    return true;
  };

  const fundingRate = (q: URLSearchParams, res: ServerResponse, rec: RecordedRequest): void => {
    if (failing(res, rec)) return;
    const symbol = q.get('symbol') ?? '';
    if (!perpFiles.has(symbol)) {
      // Binance answers for every symbol when none is named; ccxt always names one, so this fake does not.
      send(res, rec, 400, { code: -1121, msg: 'Invalid symbol.' });
      return;
    }
    const limit = q.has('limit') ? Number(q.get('limit')) : 100;
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
      send(res, rec, 400, { code: -1130, msg: "Data sent for parameter 'limit' is not valid." });
      return;
    }
    const rows = funding(symbol);
    // Events up to now have happened; startTime and endTime are both inclusive.
    const endTime = q.has('endTime') ? Number(q.get('endTime')) : Infinity;
    const upTo = lowerBoundFunding(rows, Math.min(clock(), endTime) + 1);
    let from: number;
    let to: number;
    if (q.has('startTime')) {
      from = lowerBoundFunding(rows, Number(q.get('startTime')));
      to = Math.min(upTo, from + limit);
    } else {
      to = upTo;
      from = Math.max(0, to - limit);
    }
    send(res, rec, 200, from < to ? rows.slice(from, to) : []);
  };

  const klines = (q: URLSearchParams, res: ServerResponse, rec: RecordedRequest, files: Map<string, string>, maxLimit: number): void => {
    klinesServed++;
    if (opts.dieAfterKlines !== undefined && klinesServed > opts.dieAfterKlines) {
      rec.status = -1;
      res.socket?.destroy();
      return;
    }
    if (failing(res, rec)) return;
    const symbol = q.get('symbol') ?? '';
    const file = files.get(symbol);
    if (!file) {
      send(res, rec, 400, { code: -1121, msg: 'Invalid symbol.' });
      return;
    }
    if (q.get('interval') !== '1m') {
      send(res, rec, 400, { code: -1120, msg: 'Invalid interval (this fake serves 1m only).' });
      return;
    }
    const limit = q.has('limit') ? Number(q.get('limit')) : 500;
    if (!Number.isInteger(limit) || limit < 1 || limit > maxLimit) {
      send(res, rec, 400, { code: -1130, msg: "Data sent for parameter 'limit' is not valid." });
      return;
    }
    const s = loadSeries(file);
    // Candles that have opened by now exist; the last of them may still be forming.
    const last = lowerBound(s.ts, Math.floor(clock() / 60_000) * 60_000 + 1);
    const endTime = q.has('endTime') ? Number(q.get('endTime')) : Infinity;
    const upTo = Math.min(last, lowerBound(s.ts, endTime + 1));
    let from: number;
    let to: number;
    if (q.has('startTime')) {
      from = lowerBound(s.ts, Number(q.get('startTime')));
      to = Math.min(upTo, from + limit);
    } else {
      to = upTo;
      from = Math.max(0, to - limit);
    }
    const rows: unknown[] = [];
    for (let i = from; i < to; i++) {
      const t = s.ts[i]!;
      const [o, h, l, c, v] = s.fields[i]!;
      rows.push([t, o, h, l, c, v, t + 59_999, String(Number(v) * Number(c)), 100, '0', '0', '0']);
    }
    send(res, rec, 200, rows);
  };

  const server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    klines: () => requests.filter((r) => r.path === '/api/v3/klines'),
    futuresKlines: () => requests.filter((r) => r.path === '/fapi/v1/klines'),
    fundingRequests: () => requests.filter((r) => r.path === '/fapi/v1/fundingRate'),
    countByPath: () => {
      const counts: Record<string, number> = {};
      for (const r of requests) counts[r.path] = (counts[r.path] ?? 0) + 1;
      return counts;
    },
    fundingHistory: (symbol: string) => funding(symbol).slice(),
    setNow: (ms: number) => {
      now = ms;
    },
    get nowMs() {
      return clock();
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
