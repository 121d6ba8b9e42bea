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
  /** Answer the first n klines requests with 429. */
  failFirst?: number;
  /** Retry-After (seconds) sent with `failFirst` 429s. Default 1. */
  retryAfterSeconds?: number;
  /** Cut the connection of every klines request after the first n (as if the server died mid-download). */
  dieAfterKlines?: number;
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

function symbolInfo(symbol: string): Record<string, unknown> {
  const quotes = ['USDT', 'USDC', 'FDUSD', 'BTC', 'ETH', 'BNB'];
  const quote = quotes.find((q) => symbol.endsWith(q) && symbol.length > q.length) ?? 'USDT';
  const base = symbol.slice(0, -quote.length);
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

export async function startFakeBinance(opts: FakeBinanceOptions): Promise<FakeBinance> {
  const files = new Map<string, string>();
  for (const name of readdirSync(opts.dataDir)) {
    const m = /^([A-Z0-9]+)-1m\.csv\.gz$/.exec(name);
    if (m && (!opts.symbols || opts.symbols.includes(m[1]!))) files.set(m[1]!, path.join(opts.dataDir, name));
  }
  // Named symbols are loaded now, so a test's first request does not pay for the file.
  if (opts.symbols) for (const file of files.values()) loadSeries(file);
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
        klines(u.searchParams, res, rec);
        return;
      default:
        send(res, rec, 404, { code: -1, msg: `fake binance does not serve ${u.pathname}` });
    }
  };

  const klines = (q: URLSearchParams, res: ServerResponse, rec: RecordedRequest): void => {
    klinesServed++;
    if (opts.dieAfterKlines !== undefined && klinesServed > opts.dieAfterKlines) {
      rec.status = -1;
      res.socket?.destroy();
      return;
    }
    if (failLeft > 0) {
      failLeft--;
      send(res, rec, 429, { code: -1003, msg: 'Too many requests; current limit of IP is exceeded.' }, { 'retry-after': String(opts.retryAfterSeconds ?? 1) });
      return;
    }
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
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
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
