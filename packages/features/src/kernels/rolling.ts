/**
 * Incremental rolling-window kernels: each `push` is O(1) amortised and allocates nothing.
 *
 * The batch frame and the streaming state both run these same kernels in the same order,
 * so their outputs are bit-identical; nothing here is written twice.
 *
 * Running sums drift (every add and subtract rounds). Two measures keep them exact enough
 * and, importantly, independent of where a series starts:
 * - sums are kept relative to a shift `k` (a recent value), so a rolling variance of
 *   prices near 90 000 does not cancel catastrophically;
 * - a window's ring slot is `minute mod n` (absolute UTC minute), and every time the ring
 *   wraps, i.e. at minutes ≡ 0 mod n, the sums are recomputed from the ring in slot order.
 *   The drift is therefore bounded by one window's worth of updates, and two series that
 *   start at different minutes hold bit-identical sums once both windows are full and
 *   one wrap has passed.
 *
 * A value is "valid" when it is finite. Short windows are strict: the output is NaN while
 * any of the last n inputs is invalid (a gap propagates, nothing is filled). A window may
 * instead accept a minimum number of valid inputs (`minValid`, used for the long 24-hour and
 * 7-day windows), in which case invalid inputs are skipped.
 */

/** True when x is a finite number (false for NaN and ±Infinity). */
export function isValid(x: number): boolean {
  return x - x === 0;
}

function slotOf(startMinute: number, n: number): number {
  const m = startMinute % n;
  return m < 0 ? m + n : m;
}

/** Rolling sum / mean over the last n inputs. */
export class RollingSum {
  readonly n: number;
  private readonly minValid: number;
  private readonly vals: Float64Array;
  private readonly ok: Uint8Array;
  private pos: number;
  private seen = 0;
  private nValid = 0;
  private k = 0;
  private s = 0;

  /**
   * @param n window length in rows
   * @param startMinute UTC minute index (ts / 60 000) of the first row pushed
   * @param minValid valid inputs required for an output; default n (strict)
   */
  constructor(n: number, startMinute: number, minValid = n) {
    this.n = n;
    this.minValid = minValid;
    this.vals = new Float64Array(n);
    this.ok = new Uint8Array(n);
    this.pos = slotOf(startMinute, n);
  }

  push(x: number): void {
    const p = this.pos;
    if (this.ok[p] === 1) {
      this.s -= this.vals[p] - this.k;
      this.nValid--;
    }
    if (x - x === 0) {
      this.vals[p] = x;
      this.ok[p] = 1;
      this.s += x - this.k;
      this.nValid++;
    } else {
      this.ok[p] = 0;
    }
    // The window counts from the first valid input, so leading warm-up NaNs of the input
    // (before the series could produce it) do not make a long window "full" early.
    if (this.seen < this.n && (this.seen > 0 || x - x === 0)) this.seen++;
    if (p + 1 === this.n) {
      this.pos = 0;
      this.rebase(x);
    } else {
      this.pos = p + 1;
    }
  }

  private rebase(x: number): void {
    if (x - x === 0) this.k = x;
    const k = this.k;
    let s = 0;
    for (let i = 0; i < this.n; i++) if (this.ok[i] === 1) s += this.vals[i] - k;
    this.s = s;
  }

  /** The window is full and holds enough valid inputs. */
  get ready(): boolean {
    return this.seen === this.n && this.nValid >= this.minValid;
  }

  /** Mean of the valid inputs in the window, NaN when not ready. */
  mean(): number {
    return this.ready ? this.k + this.s / this.nValid : NaN;
  }

  /** Sum of the valid inputs in the window, NaN when not ready. */
  sum(): number {
    return this.ready ? this.k * this.nValid + this.s : NaN;
  }
}

/** Rolling mean and sample variance (ddof = 1) over the last n inputs; strict. */
export class RollingVar {
  readonly n: number;
  private readonly vals: Float64Array;
  private readonly ok: Uint8Array;
  private pos: number;
  private seen = 0;
  private nValid = 0;
  private k = 0;
  private s1 = 0;
  private s2 = 0;
  /** Length of the current run of exactly equal consecutive inputs. */
  private run = 0;
  private last = NaN;

  constructor(n: number, startMinute: number) {
    this.n = n;
    this.vals = new Float64Array(n);
    this.ok = new Uint8Array(n);
    this.pos = slotOf(startMinute, n);
  }

  push(x: number): void {
    const p = this.pos;
    const k = this.k;
    if (this.ok[p] === 1) {
      const d = this.vals[p] - k;
      this.s1 -= d;
      this.s2 -= d * d;
      this.nValid--;
    }
    if (x - x === 0) {
      this.vals[p] = x;
      this.ok[p] = 1;
      const d = x - k;
      this.s1 += d;
      this.s2 += d * d;
      this.nValid++;
      this.run = x === this.last ? this.run + 1 : 1;
      this.last = x;
    } else {
      this.ok[p] = 0;
      this.run = 0;
      this.last = NaN;
    }
    if (this.seen < this.n) this.seen++;
    if (p + 1 === this.n) {
      this.pos = 0;
      this.rebase(x);
    } else {
      this.pos = p + 1;
    }
  }

  private rebase(x: number): void {
    if (x - x === 0) this.k = x;
    const k = this.k;
    let s1 = 0;
    let s2 = 0;
    for (let i = 0; i < this.n; i++) {
      if (this.ok[i] === 1) {
        const d = this.vals[i] - k;
        s1 += d;
        s2 += d * d;
      }
    }
    this.s1 = s1;
    this.s2 = s2;
  }

  get ready(): boolean {
    return this.seen === this.n && this.nValid === this.n;
  }

  mean(): number {
    return this.ready ? this.k + this.s1 / this.n : NaN;
  }

  /** Sample variance; exactly 0 when the window holds one repeated value. */
  variance(): number {
    if (!this.ready) return NaN;
    if (this.run >= this.n) return 0;
    const v = (this.s2 - (this.s1 * this.s1) / this.n) / (this.n - 1);
    return v > 0 ? v : 0;
  }

  std(): number {
    return Math.sqrt(this.variance());
  }
}

/**
 * Rolling bias-corrected excess kurtosis (pandas `rolling(n).kurt()`, the same moment
 * algebra), strict. NaN when the population variance is ≤ 1e-14, as pandas does.
 */
export class RollingKurt {
  readonly n: number;
  private readonly vals: Float64Array;
  private readonly ok: Uint8Array;
  private pos: number;
  private seen = 0;
  private nValid = 0;
  private k = 0;
  private s1 = 0;
  private s2 = 0;
  private s3 = 0;
  private s4 = 0;

  constructor(n: number, startMinute: number) {
    this.n = n;
    this.vals = new Float64Array(n);
    this.ok = new Uint8Array(n);
    this.pos = slotOf(startMinute, n);
  }

  push(x: number): void {
    const p = this.pos;
    const k = this.k;
    if (this.ok[p] === 1) {
      const d = this.vals[p] - k;
      const d2 = d * d;
      this.s1 -= d;
      this.s2 -= d2;
      this.s3 -= d2 * d;
      this.s4 -= d2 * d2;
      this.nValid--;
    }
    if (x - x === 0) {
      this.vals[p] = x;
      this.ok[p] = 1;
      const d = x - k;
      const d2 = d * d;
      this.s1 += d;
      this.s2 += d2;
      this.s3 += d2 * d;
      this.s4 += d2 * d2;
      this.nValid++;
    } else {
      this.ok[p] = 0;
    }
    if (this.seen < this.n) this.seen++;
    if (p + 1 === this.n) {
      this.pos = 0;
      this.rebase(x);
    } else {
      this.pos = p + 1;
    }
  }

  private rebase(x: number): void {
    if (x - x === 0) this.k = x;
    const k = this.k;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    let s4 = 0;
    for (let i = 0; i < this.n; i++) {
      if (this.ok[i] === 1) {
        const d = this.vals[i] - k;
        const d2 = d * d;
        s1 += d;
        s2 += d2;
        s3 += d2 * d;
        s4 += d2 * d2;
      }
    }
    this.s1 = s1;
    this.s2 = s2;
    this.s3 = s3;
    this.s4 = s4;
  }

  kurt(): number {
    if (this.seen !== this.n || this.nValid !== this.n) return NaN;
    const n = this.n;
    const a = this.s1 / n;
    let r = a * a;
    const b = this.s2 / n - r;
    if (b <= 1e-14) return NaN;
    r *= a;
    const c = this.s3 / n - r - 3 * a * b;
    r *= a;
    const d = this.s4 / n - r - 6 * b * a * a - 4 * c * a;
    const kk = ((n * n - 1) * d) / (b * b) - 3 * (n - 1) * (n - 1);
    return kk / ((n - 2) * (n - 3));
  }
}

/** Rolling OLS slope of y on x over the last n pairs (cov(x, y) / var(x)); strict. */
export class RollingBeta {
  readonly n: number;
  private readonly xs: Float64Array;
  private readonly ys: Float64Array;
  private readonly ok: Uint8Array;
  private pos: number;
  private seen = 0;
  private nValid = 0;
  private kx = 0;
  private ky = 0;
  private sx = 0;
  private sy = 0;
  private sxx = 0;
  private sxy = 0;
  private run = 0;
  private lastX = NaN;

  constructor(n: number, startMinute: number) {
    this.n = n;
    this.xs = new Float64Array(n);
    this.ys = new Float64Array(n);
    this.ok = new Uint8Array(n);
    this.pos = slotOf(startMinute, n);
  }

  push(x: number, y: number): void {
    const p = this.pos;
    if (this.ok[p] === 1) {
      const dx = this.xs[p] - this.kx;
      const dy = this.ys[p] - this.ky;
      this.sx -= dx;
      this.sy -= dy;
      this.sxx -= dx * dx;
      this.sxy -= dx * dy;
      this.nValid--;
    }
    const valid = x - x === 0 && y - y === 0;
    if (valid) {
      this.xs[p] = x;
      this.ys[p] = y;
      this.ok[p] = 1;
      const dx = x - this.kx;
      const dy = y - this.ky;
      this.sx += dx;
      this.sy += dy;
      this.sxx += dx * dx;
      this.sxy += dx * dy;
      this.nValid++;
      this.run = x === this.lastX ? this.run + 1 : 1;
      this.lastX = x;
    } else {
      this.ok[p] = 0;
      this.run = 0;
      this.lastX = NaN;
    }
    if (this.seen < this.n) this.seen++;
    if (p + 1 === this.n) {
      this.pos = 0;
      this.rebase(valid, x, y);
    } else {
      this.pos = p + 1;
    }
  }

  private rebase(valid: boolean, x: number, y: number): void {
    if (valid) {
      this.kx = x;
      this.ky = y;
    }
    const kx = this.kx;
    const ky = this.ky;
    let sx = 0;
    let sy = 0;
    let sxx = 0;
    let sxy = 0;
    for (let i = 0; i < this.n; i++) {
      if (this.ok[i] === 1) {
        const dx = this.xs[i] - kx;
        const dy = this.ys[i] - ky;
        sx += dx;
        sy += dy;
        sxx += dx * dx;
        sxy += dx * dy;
      }
    }
    this.sx = sx;
    this.sy = sy;
    this.sxx = sxx;
    this.sxy = sxy;
  }

  /** Slope; NaN when not ready or x is constant over the window. */
  beta(): number {
    if (this.seen !== this.n || this.nValid !== this.n || this.run >= this.n) return NaN;
    const n = this.n;
    const vx = this.sxx - (this.sx * this.sx) / n;
    if (!(vx > 0)) return NaN;
    return (this.sxy - (this.sx * this.sy) / n) / vx;
  }
}

/**
 * Rolling maximum (or minimum) over the last n inputs with a monotonic deque: each input
 * enters and leaves the deque once, so a push is O(1) amortised. Strict: NaN while an
 * invalid input is inside the window.
 */
export class RollingExtreme {
  readonly n: number;
  private readonly isMax: boolean;
  private readonly dv: Float64Array;
  private readonly ds: Float64Array;
  private head = 0;
  private size = 0;
  private seq = -1;
  private lastBad = -Infinity;

  constructor(n: number, kind: 'max' | 'min') {
    this.n = n;
    this.isMax = kind === 'max';
    this.dv = new Float64Array(n);
    this.ds = new Float64Array(n);
  }

  push(x: number): void {
    const seq = ++this.seq;
    const cap = this.n;
    // Evict what falls out of the window [seq − n + 1, seq].
    while (this.size > 0 && this.ds[this.head] <= seq - cap) {
      this.head = this.head + 1 === cap ? 0 : this.head + 1;
      this.size--;
    }
    if (!(x - x === 0)) {
      this.lastBad = seq;
      return;
    }
    // Drop from the back everything the new value dominates.
    if (this.isMax) {
      while (this.size > 0) {
        let b = this.head + this.size - 1;
        if (b >= cap) b -= cap;
        if (this.dv[b] <= x) this.size--;
        else break;
      }
    } else {
      while (this.size > 0) {
        let b = this.head + this.size - 1;
        if (b >= cap) b -= cap;
        if (this.dv[b] >= x) this.size--;
        else break;
      }
    }
    let t = this.head + this.size;
    if (t >= cap) t -= cap;
    this.dv[t] = x;
    this.ds[t] = seq;
    this.size++;
  }

  /** Extreme of the last n inputs; NaN until n inputs were pushed or if one is invalid. */
  value(): number {
    if (this.seq < this.n - 1 || this.lastBad > this.seq - this.n || this.size === 0) return NaN;
    return this.dv[this.head];
  }
}

/** Exponential smoothing y = (1 − α)·y + α·x seeded by the first valid input (pandas
 * `ewm(adjust=False, ignore_na=True)`); invalid inputs are skipped (the state holds).
 * `value()` is NaN until more than `warm` inputs were seen: by then the seed's weight
 * (1 − α)^warm is negligible, so the value no longer depends on where the series began. */
export class Ema {
  readonly alpha: number;
  private readonly beta: number;
  private readonly warm: number;
  private e = NaN;
  private count = 0;

  constructor(alpha: number, warm: number) {
    this.alpha = alpha;
    this.beta = 1 - alpha;
    this.warm = warm;
  }

  push(x: number): void {
    if (!(x - x === 0)) return;
    this.e = this.count === 0 ? x : this.beta * this.e + this.alpha * x;
    this.count++;
  }

  /** The smoothed state regardless of warm-up (NaN before the first valid input). */
  raw(): number {
    return this.e;
  }

  value(): number {
    return this.count > this.warm ? this.e : NaN;
  }
}

/** The last `depth + 1` inputs, for lags: `ago(0)` is the newest. */
export class LagRing {
  private readonly vals: Float64Array;
  private readonly size: number;
  private pos = 0;

  constructor(depth: number) {
    this.size = depth + 1;
    this.vals = new Float64Array(this.size).fill(NaN);
  }

  push(x: number): void {
    this.vals[this.pos] = x;
    this.pos = this.pos + 1 === this.size ? 0 : this.pos + 1;
  }

  /** The input `lag` pushes ago (0 ≤ lag ≤ depth); NaN when not pushed yet. */
  ago(lag: number): number {
    let i = this.pos - 1 - lag;
    if (i < 0) i += this.size;
    return this.vals[i];
  }
}
