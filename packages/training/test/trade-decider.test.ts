import { simulateSegments } from '../src/simulation/simulate';
import { TradeDecider } from '@engine/model';
import { T0 } from './candle-fixtures';
import { handLabels } from './label-fixtures';

const MIN = 60_000;

describe('TradeDecider (Hamilton rules)', () => {
  it('enters only strictly above the threshold, holds one position, then cools down', () => {
    const d = new TradeDecider({ threshold_bps: 5, cooldown_seconds: 900, max_trades_per_day: 40 });
    expect(d.decide(T0, 5)).toEqual({ enter: false, reason: 'below_threshold' });
    expect(d.decide(T0 + MIN, NaN)).toEqual({ enter: false, reason: 'no_signal' });
    expect(d.decide(T0 + 2 * MIN, 5.01)).toEqual({ enter: true, reason: 'enter' });
    expect(d.decide(T0 + 3 * MIN, 50)).toEqual({ enter: false, reason: 'in_position' });
    d.closePosition(T0 + 6 * MIN);
    expect(d.decide(T0 + 6 * MIN, 50).reason).toBe('cooldown');
    expect(d.decide(T0 + 20 * MIN, 50).reason).toBe('cooldown');
    expect(d.decide(T0 + 21 * MIN, 50).reason).toBe('enter');
  });

  it('treats an exit reported ahead of time (batch simulation) as a position still open until then', () => {
    const d = new TradeDecider({ threshold_bps: 0, cooldown_seconds: 0, max_trades_per_day: 40 });
    expect(d.decide(T0, 1).enter).toBe(true);
    d.closePosition(T0 + 4 * MIN);
    expect(d.decide(T0 + MIN, 9).reason).toBe('in_position');
    expect(d.decide(T0 + 3 * MIN, 9).reason).toBe('in_position');
    expect(d.decide(T0 + 4 * MIN, 9).reason).toBe('enter');
  });

  it('caps entries per UTC day and resets at midnight', () => {
    const d = new TradeDecider({ threshold_bps: 0, cooldown_seconds: 0, max_trades_per_day: 2 });
    const day = 86_400_000;
    const late = T0 + day - 10 * MIN;
    for (const t of [late, late + 2 * MIN]) {
      expect(d.decide(t, 1).enter).toBe(true);
      d.closePosition(t + MIN);
    }
    expect(d.decide(late + 4 * MIN, 1).reason).toBe('daily_cap');
    expect(d.decide(T0 + day, 1).reason).toBe('enter');
  });

  it('refuses decisions that go back in time, and restores from a snapshot', () => {
    const d = new TradeDecider({ threshold_bps: 0, cooldown_seconds: 60, max_trades_per_day: 40 });
    d.decide(T0 + 5 * MIN, 1);
    d.closePosition(T0 + 6 * MIN);
    expect(() => d.decide(T0, 1)).toThrow(/move forward in time/);
    const again = new TradeDecider(d.getRules(), d.snapshot());
    expect(again.decide(T0 + 6 * MIN + 30_000, 1).reason).toBe('cooldown');
    expect(again.decide(T0 + 7 * MIN, 1).reason).toBe('enter');
  });
});

describe('simulateSegments', () => {
  it('trades without overlap, honours cooldown, skips unlabelled rows and carries state across segments', () => {
    // 30 rows, every label +10 except row 3 (unlabelled); every prediction 1 above thresholds.
    const net = Array.from({ length: 30 }, (_, i) => (i === 3 ? NaN : 10));
    const { labels, ts } = handLabels(net, 4);
    const rows = (a: number, b: number) => Int32Array.from({ length: b - a }, (_, k) => a + k);
    const preds = (len: number, v: number) => new Float64Array(len).fill(v);
    const trades = simulateSegments(
      [
        { fold: 0, threshold_bps: 0, rows: rows(3, 12), predicted_bps: preds(9, 1) },
        { fold: 1, threshold_bps: 5, rows: rows(12, 30), predicted_bps: preds(18, 6) },
      ],
      labels,
      ts,
      { cooldown_seconds: 120, max_trades_per_day: 40 },
    );
    // Row 4 enters (3 has no label), exits at the close of bar 8 = decision time of row 8;
    // cooldown 2 min → rows 8, 9 refused, row 10 enters, exits at close of 14 → rows 14, 15 cool, 16 enters (fold 1), …
    expect(trades.map((t) => t.row)).toEqual([4, 10, 16, 22, 28]);
    expect(trades.map((t) => t.fold)).toEqual([0, 0, 1, 1, 1]);
    expect(trades[2]!.threshold_bps).toBe(5);
    for (let k = 1; k < trades.length; k++) expect(trades[k]!.entry_ts).toBeGreaterThanOrEqual(trades[k - 1]!.exit_ts + 120_000);
    expect(trades[0]!.entry_ts).toBe(ts[5]);
    expect(trades[0]!.exit_ts).toBe(ts[8]! + MIN);
  });
});
