import { MINUTE_MS, type CandleSeries } from '@engine/shared';
import { LiveFeedError } from '../src/errors';
import type { LiveModel } from '../src/live-model';
import { openBundle } from '../src/open-model';
import { Trader } from '../src/trader';
import { FIXTURE_GUARDS, SYN, trainPlanted } from './support/bundles';

/** The trader's contract with the live feed, and its state across restarts. */
let model: LiveModel;
let candles: CandleSeries;
let reference: CandleSeries;

beforeAll(async () => {
  const f = await trainPlanted({ seed: 11 });
  candles = f.candles;
  reference = f.reference;
  model = await openBundle(f.bundle, FIXTURE_GUARDS);
}, 120_000);
afterAll(() => model.close());

const at = (s: CandleSeries, i: number) => ({ ts: s.ts[i]!, open: s.open[i]!, high: s.high[i]!, low: s.low[i]!, close: s.close[i]!, volume: s.volume[i]! });

test('every candle gets a decision with the model, edge, confidence and reason', () => {
  const trader = new Trader({ symbol: 'syn-usdt', model });
  expect(trader.symbol).toBe(SYN);
  expect(trader.referenceSymbol).toBe('BTC/USDT');
  const reasons = new Set<string>();
  let entries = 0;
  let exits = 0;
  for (let i = 0; i < 3000; i++) {
    const d = trader.onCandleSync(at(candles, i), at(reference, i));
    expect(d.ts).toBe(candles.ts[i]);
    expect(d.decision_ts).toBe(candles.ts[i]! + MINUTE_MS);
    expect(d.model_id).toBe(model.modelId);
    expect(Number.isFinite(d.edge_bps)).toBe(true);
    expect(d.confidence).toBeGreaterThanOrEqual(0);
    expect(d.confidence).toBeLessThanOrEqual(1);
    reasons.add(d.reason);
    if (d.enter) {
      entries++;
      expect(d.position).not.toBeNull();
      expect(d.position!.signal_ts).toBe(d.ts);
      expect(d.position!.entry_ts).toBe(d.decision_ts);
      expect(d.edge_bps).toBeGreaterThan(model.tradingRules.threshold_bps);
    }
    if (d.exit) exits++;
    // The σ window is not full yet: nothing is tradable.
    if (i < model.labelConfig.vol_window) expect(d.reason).toBe('no_signal');
  }
  expect(entries).toBeGreaterThan(5);
  expect(exits).toBeGreaterThanOrEqual(entries - 1);
  expect([...reasons].sort()).toEqual(expect.arrayContaining(['below_threshold', 'cooldown', 'enter', 'in_position', 'no_signal']));
});

test('refuses a candle that does not follow the previous one, before touching any state', () => {
  const trader = new Trader({ symbol: SYN, model });
  trader.onCandleSync(at(candles, 0), at(reference, 0));
  expect(() => trader.onCandleSync(at(candles, 2), at(reference, 2))).toThrow(LiveFeedError);
  expect(() => trader.onCandleSync(at(candles, 2), at(reference, 2))).toThrow(/does not follow .* \(feed missing minutes as gap candles\)/);
  // The right next candle is still accepted.
  expect(trader.onCandleSync(at(candles, 1), at(reference, 1)).ts).toBe(candles.ts[1]);
  // A gap candle is a candle: the minute after it follows.
  expect(trader.onCandleSync({ ...at(candles, 2), gap: true }, null).reason).toBe('no_signal');
  expect(trader.onCandleSync(at(candles, 3), at(reference, 3)).ts).toBe(candles.ts[3]);
});

test('refuses a model of another symbol, warm-up after live decisions, and restoring into an open position', () => {
  expect(() => new Trader({ symbol: 'ETH/USDT', model }).onCandleSync(at(candles, 0), at(reference, 0))).toThrow(/model .* is for SYN\/USDT/);
  const trader = new Trader({ symbol: SYN, model });
  trader.warmUp(at(candles, 0), at(reference, 0));
  trader.onCandleSync(at(candles, 1), at(reference, 1));
  expect(() => trader.warmUp(at(candles, 2), at(reference, 2))).toThrow(LiveFeedError);
  expect(() => new Trader({ symbol: SYN, model, decider: { open: true, last_exit_ts: 0, day_start: 0, trades_today: 1, last_decision_ts: 0 } })).toThrow(/only between positions/);
  expect(() => new Trader({ symbol: SYN, model, predictor: 'onnx' }).onCandleSync(at(candles, 0), at(reference, 0))).toThrow(/needs predictor 'native'/);
});

test('a restored decider keeps the cooldown and the daily count across a restart', () => {
  const a = new Trader({ symbol: SYN, model });
  let i = 0;
  let exitIndex = -1;
  for (; i < 5000 && exitIndex < 0; i++) {
    const d = a.onCandleSync(at(candles, i), at(reference, i));
    if (d.exit) exitIndex = i;
  }
  expect(exitIndex).toBeGreaterThan(0);
  const saved = a.snapshot();
  expect(saved.position).toBeNull();
  expect(saved.decider.trades_today).toBeGreaterThanOrEqual(1);
  const b = new Trader({ symbol: SYN, model, decider: saved.decider });
  // Restarted right after the exit (features warmed on the history): still cooling down.
  for (let k = 0; k < i; k++) b.warmUp(at(candles, k), at(reference, k));
  const d = b.onCandleSync(at(candles, i), at(reference, i));
  expect(d.reason).toBe('cooldown');
  // A fresh decider would have considered the signal instead.
  const fresh = new Trader({ symbol: SYN, model });
  for (let k = 0; k < i; k++) fresh.warmUp(at(candles, k), at(reference, k));
  expect(fresh.onCandleSync(at(candles, i), at(reference, i)).reason).not.toBe('cooldown');
  expect(b.snapshot().decider.trades_today).toBe(saved.decider.trades_today);
});

test('no model (stand_aside): the features stay warm, nothing is entered, an open position still exits', () => {
  let current: LiveModel | null = null;
  const a = new Trader({ symbol: SYN, model: { current: () => current }, noModel: 'stand_aside' });
  // The default refuses a candle without a model, as before.
  expect(() => new Trader({ symbol: SYN, model: { current: () => null } }).onCandleSync(at(candles, 0), at(reference, 0))).toThrow(/no model loaded yet/);
  const from = 8 * 1440;
  for (let i = 0; i < from; i++) {
    const d = a.onCandleSync(at(candles, i), at(reference, i));
    expect(d.reason).toBe('no_model');
    expect(d.enter).toBe(false);
    expect(d.model_id).toBe('');
  }
  // From `from` on it trades exactly as a trader whose features were warmed on the same history.
  current = model;
  const b = new Trader({ symbol: SYN, model });
  for (let i = 0; i < from; i++) b.warmUp(at(candles, i), at(reference, i));
  let entries = 0;
  let k = from;
  for (; k < from + 3000; k++) {
    const da = a.onCandleSync(at(candles, k), at(reference, k));
    const db = b.onCandleSync(at(candles, k), at(reference, k));
    expect(da).toEqual(db);
    if (da.enter) entries++;
    if (da.enter && entries >= 3) break;
  }
  expect(entries).toBe(3);
  // The model goes away with a position open: no entry, but the position's exit is followed.
  current = null;
  let exited = false;
  for (let i = k + 1; i < k + 2000 && !exited; i++) {
    const d = a.onCandleSync(at(candles, i), at(reference, i));
    expect(d.enter).toBe(false);
    expect(d.reason).toBe('no_model');
    if (d.exit) {
      exited = true;
      expect(d.exit.model_id).toBe(model.modelId);
      expect(d.position).toBeNull();
    }
  }
  expect(exited).toBe(true);
});
