import { allocCandles, Mulberry32, type CandleSeries } from '@engine/shared';
import { T0 } from './candle-fixtures';

/** Driftless log-normal random-walk candles (`sigmaBps` per minute), with intrabar highs and lows. */
export function randomWalkCandles(opts: { days: number; seed: number; sigmaBps?: number; start?: number; symbol?: string }): CandleSeries {
  const n = Math.round(opts.days * 1440);
  const r = new Mulberry32(opts.seed);
  const sig = (opts.sigmaBps ?? 8) / 1e4;
  const gauss = () => Math.sqrt(-2 * Math.log(r.next() + 1e-300)) * Math.cos(2 * Math.PI * r.next());
  const c = allocCandles(opts.symbol ?? 'TEST/USDT', n);
  let p = 100;
  for (let i = 0; i < n; i++) {
    c.ts[i] = (opts.start ?? T0) + i * 60_000;
    const o = p;
    const cl = o * Math.exp(sig * gauss());
    const hi = Math.max(o, cl) * Math.exp(Math.abs(sig * 0.5 * gauss()));
    const lo = Math.min(o, cl) * Math.exp(-Math.abs(sig * 0.5 * gauss()));
    c.open[i] = o;
    c.high[i] = hi;
    c.low[i] = lo;
    c.close[i] = cl;
    c.volume[i] = 1 + r.next();
    p = cl;
  }
  return c;
}
