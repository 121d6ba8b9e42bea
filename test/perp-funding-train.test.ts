/**
 * A USDⓈ-M run end to end (issue 16, item 2): the single-machine runner loads perpetual
 * candles and the venue's funding series through the real ccxt `binanceusdm` client from
 * the local fake of Binance, trains on the binance-usdm-taker profile, and the labels charge
 * each funding event a trade spans. The same profile on a CSV folder (spot candles, no
 * funding) is refused with a message that names the way out; with a constant funding it
 * runs and says so.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createLogger, loadConfig, parseUtcDay, DAY_MS } from '@engine/shared';
import { runSingleMachine } from '@engine/fleet';
import { loadCandles, loadFundingRates } from '@engine/candles';
import { tripleBarrierLabels } from '@engine/model';
import { startFakeBinance, type FakeBinance } from './fakes/fake-binance';
import { OHLCV_DIR } from './support/paths';

jest.setTimeout(240_000);

const FAST = { walk_forward: { train_days: 10, test_days: 5, step_days: 5 }, model: { nEstimators: 20 }, confidence_model: { nEstimators: 5 } };
const END = '2026-07-10';
const log = createLogger({ level: 'silent' });

let fake: FakeBinance;
let dataDir: string;
beforeAll(async () => {
  fake = await startFakeBinance({ dataDir: OHLCV_DIR, symbols: ['BTCUSDT', 'ETHUSDT'], nowMs: Date.parse('2026-07-16T02:00:00Z'), futures: { symbols: ['BTCUSDT', 'ETHUSDT'] } });
  dataDir = await mkdtemp(path.join(tmpdir(), 'engine-perp-'));
});
afterAll(async () => {
  await fake.close();
  await rm(dataDir, { recursive: true, force: true });
});

test('binanceusdm candles + the funding series: the manifest says how it was priced and the labels charge funding by side', async () => {
  const config = loadConfig({ ENGINE_TRAIN_THREADS: '2', ENGINE_EXCHANGE_URL: fake.url });
  const rep = await runSingleMachine({ symbols: ['ETH/USDT'], source: 'binanceusdm', days: 25, end: END, dataDir, training: { ...FAST, cost_profile: 'binance-usdm-taker' } }, log, config);
  const r = rep.results[0]!;
  if (!r.ok) throw new Error(`ETH/USDT failed: ${r.error.message}`);
  const m = r.bundle.manifest;
  expect(m.cost_model.version === 'cost-v2' && m.cost_model.profile).toBe('binance-usdm-taker@1');
  // the funding series covers every candle the labels read: the window and its warm-up history
  const days = 25 + (m.data.warmup_history?.rows ?? 0) / 1440;
  expect(m.data.warmup_history).toBeDefined();
  expect(m.data.market).toMatchObject({ candles: 'usdm-perp', priced_as: 'usdm-perp', funding: 'series', funding_rates: days * 3 });
  expect(m.data.market!.note).toMatch(new RegExp(`perpetual costs on perpetual candles with the venue's funding series \\(${days * 3} funding rates\\)`));
  expect(fake.fundingRequests().length).toBeGreaterThanOrEqual(1);

  // The labels of that run, recomputed: rows whose trade spans a funding time pay its rate (long).
  const end = parseUtcDay(END) + DAY_MS;
  const start = end - 25 * DAY_MS;
  const cacheDir = path.join(dataDir, 'candles');
  const { candles } = await loadCandles({ symbol: 'ETH/USDT', start, end, source: 'binanceusdm', cacheDir, exchangeUrl: fake.url });
  const f = await loadFundingRates({ symbol: 'ETH/USDT', from: start, to: end, source: 'binanceusdm', cacheDir, exchangeUrl: fake.url, now: () => fake.nowMs });
  const series = { ts: f.ts, rate_bps: f.rate.map((x) => x * 1e4) };
  const long = tripleBarrierLabels(candles, m.labelling, m.cost_model, series);
  const short = tripleBarrierLabels(candles, { ...m.labelling, side: 'short' }, m.cost_model, series);
  let charged = 0;
  for (let i = 0; i < long.rows; i++) {
    if (!(long.funding_bps[i]! !== 0)) continue;
    if (Number.isNaN(long.funding_bps[i]!)) continue;
    charged++;
    // The event it spans: the first funding time at or after the entry.
    const entryTs = candles.ts[long.entry_index[i]!]!;
    const k = f.ts.findIndex((t) => t >= entryTs);
    expect(long.funding_bps[i]).toBeCloseTo(f.rate[k]! * 1e4, 9);
    expect(candles.ts[long.exit_index[i]!]! + 60_000).toBeGreaterThan(f.ts[k]!);
  }
  // ~3 events a day × 4-minute trades: a few rows per event, on every event of the window.
  expect(charged).toBeGreaterThan(50);
  for (let i = 0; i < short.rows; i++) if (Number.isFinite(short.funding_bps[i]!) && Number.isFinite(long.funding_bps[i]!) && short.entry_index[i] === long.entry_index[i] && short.exit_index[i] === long.exit_index[i]) expect(short.funding_bps[i]).toBe(-long.funding_bps[i]! + 0);
});

test('a perp profile on spot CSV candles: refused without a funding series, priced and labelled plainly with a constant one', async () => {
  const config = loadConfig({ ENGINE_TRAIN_THREADS: '2' });
  const source = `csv:${OHLCV_DIR}`;
  const refused = await runSingleMachine({ symbols: ['ETH/USDT'], source, days: 25, end: END, dataDir, training: { ...FAST, cost_profile: 'binance-usdm-taker' } }, log, config);
  const x = refused.results[0]!;
  expect(x.ok).toBe(false);
  if (x.ok) throw new Error('unreachable');
  expect(x.error.permanent).toBe(true);
  expect(x.error.message).toMatch(/funding/i);
  expect(x.error.message).toMatch(/binanceusdm/);

  const priced = await runSingleMachine({ symbols: ['ETH/USDT'], source, days: 25, end: END, dataDir, training: { ...FAST, cost_profile: 'binance-usdm-taker', costs: { funding: { mode: 'constant' } } } }, log, config);
  const r = priced.results[0]!;
  if (!r.ok) throw new Error(`ETH/USDT failed: ${r.error.message}`);
  expect(r.bundle.manifest.data.market).toMatchObject({ candles: 'spot', priced_as: 'usdm-perp', funding: 'constant' });
  expect(r.bundle.manifest.data.warnings.join('\n')).toMatch(/perpetual costs priced on SPOT candles with a CONSTANT funding of 0 bps/);
});
