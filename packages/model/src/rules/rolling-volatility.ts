/**
 * Rolling sample standard deviation (ddof = 1) of 1-minute simple returns over the last
 * `window` returns, causal: out[t] uses closes t−window … t only. NaN while the window is
 * not full or when any close in it is missing (a gap), so volatility never silently
 * bridges a hole in the data.
 */
export function rollingReturnStd(close: Float64Array, window: number): Float64Array {
  const n = close.length;
  const out = new Float64Array(n).fill(NaN);
  if (window < 2) throw new RangeError(`rolling volatility window must be ≥ 2 returns, got ${window}`);
  const r = new Float64Array(n).fill(NaN);
  for (let i = 1; i < n; i++) r[i] = close[i]! / close[i - 1]! - 1;
  // Running sums over the last `window` returns; `bad` counts non-finite ones in the window.
  // Returns are ~1e-3, so the plain sum / sum of squares keep full precision here; the
  // sums are rebuilt from scratch every 4096 rows anyway to stop rounding drift.
  let sum = 0;
  let sumSq = 0;
  let bad = 0;
  for (let i = 1; i < n; i++) {
    const x = r[i]!;
    if (Number.isFinite(x)) {
      sum += x;
      sumSq += x * x;
    } else bad++;
    const leave = i - window;
    if (leave >= 1) {
      const y = r[leave]!;
      if (Number.isFinite(y)) {
        sum -= y;
        sumSq -= y * y;
      } else bad--;
    }
    if ((i & 4095) === 0 && i >= window) {
      sum = 0;
      sumSq = 0;
      for (let j = i - window + 1; j <= i; j++) {
        const z = r[j]!;
        if (Number.isFinite(z)) {
          sum += z;
          sumSq += z * z;
        }
      }
    }
    if (i >= window && bad === 0) {
      const mean = sum / window;
      const v = (sumSq - window * mean * mean) / (window - 1);
      out[i] = Math.sqrt(v > 0 ? v : 0);
    }
  }
  return out;
}
