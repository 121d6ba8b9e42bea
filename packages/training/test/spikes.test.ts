import { candleFilePath, readCandleFile } from '@engine/candles';
import { type CandleSeries } from '@engine/shared';
import { DEFAULT_SPIKE_RULE, findSpikes, type SpikeRule } from '@engine/model';
import { resolveTrainConfig } from '../src';
import { labelRows, screenSpikes } from '../src/pipeline/prepare-data';
import { OHLCV_DIR } from '../../../test/support/paths';
import { randomWalkCandles } from './random-walk';

/**
 * A quiet market (12 bps a minute) with a flash crash like SUI's on 2025-10-10: one minute
 * whose low is 83% under the previous close, and a rebound minute straight back.
 */
function flashCrash(at: number): CandleSeries {
  const c = randomWalkCandles({ days: 1, seed: 17, sigmaBps: 12 });
  const p = c.close[at - 1]!;
  c.open[at] = p;
  c.high[at] = p;
  c.low[at] = p * 0.17;
  c.close[at] = p * 0.3;
  c.open[at + 1] = p * 0.3;
  c.low[at + 1] = p * 0.3;
  c.high[at + 1] = Math.max(c.high[at + 1]!, c.close[at + 1]!);
  return c;
}

const CRASH = 600;
const H60 = resolveTrainConfig({ labels: { horizon_minutes: 60 } });

describe('the spike rule (issue 14 item 11)', () => {
  it('finds the crash minute and its rebound, with the move and the σ it was judged against', () => {
    const spikes = findSpikes(flashCrash(CRASH), DEFAULT_SPIKE_RULE);
    expect(spikes.map((k) => k.row)).toEqual([CRASH, CRASH + 1]);
    expect(spikes[0]!.move_bps).toBeCloseTo(-8300, 6);
    // The rebound (+233% from the crashed close) is judged against the σ before the crash.
    expect(spikes[1]!.move_bps).toBeGreaterThan(20_000);
    for (const k of spikes) {
      expect(k.sigma_bps).toBeGreaterThan(8);
      expect(k.sigma_bps).toBeLessThan(16);
    }
  });

  it('masks the spike minutes as gaps by default: no label or σ window crosses them, so 60-minute barriers stay ordinary', () => {
    const raw = flashCrash(CRASH);
    // Before: the crash sits in σ windows and trade windows; barriers reach thousands of bps.
    const uncapped = resolveTrainConfig({ labels: { horizon_minutes: 60, max_barrier_bps: null }, spikes: { action: 'off' } });
    const before = labelRows(raw, uncapped).labels;
    let widest = 0;
    for (let t = 0; t < before.rows; t++) if (!Number.isNaN(before.net_edge_bps[t]!)) widest = Math.max(widest, before.tp_bps[t]!);
    expect(widest).toBeGreaterThan(10_000);

    const screen = screenSpikes(raw, undefined, H60.spikes);
    expect(screen.masked).toBe(true);
    expect(screen.spikes.map((k) => k.row)).toEqual([CRASH, CRASH + 1]);
    expect(screen.warnings).toHaveLength(1);
    expect(screen.warnings[0]).toMatch(/^candles for TEST\/USDT: 2 spike minutes \(high or low beyond 500 bps and 100σ .*\) masked as missing minutes/);
    expect(screen.warnings[0]).toMatch(/-8300 bps, \d+σ/);
    // The input is untouched; the screened copy has the two minutes as gaps.
    expect(raw.gap[CRASH]).toBe(0);
    expect([screen.candles.gap[CRASH], screen.candles.gap[CRASH + 1]]).toEqual([1, 1]);
    expect(screen.candles.close[CRASH]).toBeNaN();

    const { labels, rows } = labelRows(screen.candles, H60);
    const vol = H60.labels.vol_window;
    let maxTp = 0;
    for (const t of rows) {
      // The trade window t+1 … exit and the σ window t−vol … t both avoid the masked minutes.
      expect(t + 1 > CRASH + 1 || labels.exit_index[t]! < CRASH).toBe(true);
      expect(t - vol > CRASH + 1 || t < CRASH).toBe(true);
      maxTp = Math.max(maxTp, labels.tp_bps[t]!);
    }
    expect(maxTp).toBeLessThan(500);
    expect(rows.length).toBeGreaterThan(1000);
  });

  it('only reports the spikes with action warn, and does nothing with off', () => {
    const raw = flashCrash(CRASH);
    const warn = screenSpikes(raw, undefined, { ...DEFAULT_SPIKE_RULE, action: 'warn' });
    expect(warn.spikes).toHaveLength(2);
    expect(warn.masked).toBe(false);
    expect(warn.candles).toBe(raw);
    expect(warn.warnings[0]).toMatch(/kept as they are \(spikes\.action = warn\)/);
    const off = screenSpikes(raw, undefined, { ...DEFAULT_SPIKE_RULE, action: 'off' });
    expect(off.spikes).toEqual([]);
    expect(off.warnings).toEqual([]);
  });

  it('takes its thresholds from the configuration, and checks the reference series too', () => {
    const raw = flashCrash(CRASH);
    const strict: SpikeRule = { ...DEFAULT_SPIKE_RULE, min_move_bps: 40, sigma_multiple: 4 };
    expect(findSpikes(raw, strict).length).toBeGreaterThan(2);
    // A floor above the crash's 8,300 bps: the crash is ordinary volatility then, and the rebound is judged against it.
    expect(findSpikes(raw, { ...DEFAULT_SPIKE_RULE, min_move_bps: 9000 })).toEqual([]);
    expect(findSpikes(raw, { ...DEFAULT_SPIKE_RULE, sigma_multiple: 1e6 })).toEqual([]);
    const ref = flashCrash(CRASH + 100);
    ref.symbol = 'BTC/USDT';
    const s = screenSpikes(randomWalkCandles({ days: 1, seed: 18, sigmaBps: 12 }), ref, DEFAULT_SPIKE_RULE);
    expect(s.spikes).toEqual([]);
    expect(s.referenceSpikes.map((k) => k.row)).toEqual([CRASH + 100, CRASH + 101]);
    expect(s.reference!.gap[CRASH + 100]).toBe(1);
    expect(s.warnings[0]).toMatch(/^candles for BTC\/USDT \(the reference\): 2 spike minutes/);
    expect(() => resolveTrainConfig({ spikes: { sigma_multiple: 0 } })).toThrow(/spikes\.sigma_multiple/);
  });

  it('flags none of the real candles\' minutes: their largest moves are real market-wide events, not spikes', () => {
    // 200 days × 4 symbols; the largest excursions are 1,206 bps (TAO) and 80σ (SUI).
    for (const symbol of ['BTC/USDT', 'ETH/USDT', 'SUI/USDT', 'TAO/USDT']) {
      const c = readCandleFile(candleFilePath(OHLCV_DIR, symbol), symbol);
      expect(c.ts.length).toBe(288_000);
      expect({ symbol, spikes: findSpikes(c, DEFAULT_SPIKE_RULE).length }).toEqual({ symbol, spikes: 0 });
    }
  });
});
