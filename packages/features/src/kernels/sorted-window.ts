/**
 * Rolling percentile rank: the valid inputs of the last n rows kept sorted, so the rank of
 * the newest input among them is a count, not a sort.
 *
 * The sorted multiset is a list of sorted blocks ("sorted list" / sqrt decomposition):
 * every block holds at most `cap` values (cap ≈ √n, a power of two in 32..256; 128 for the
 * 7-day window of 10 080), a full block splits in two halves, and a block that falls below
 * cap/4 merges with a neighbour, so no two neighbours are both small and there are at most
 * ~8n/cap blocks. A Fenwick tree over the block lengths gives the count of values in the
 * blocks before a given one in O(log blocks).
 *
 * Per push (remove the value leaving the window, insert the new one) and per rank query:
 * O(log n) binary searches plus a shift of at most `cap` values inside one block; a split or
 * merge (at most once per ~cap/4 pushes) rebuilds the Fenwick tree in O(n / cap). So a push
 * is O(√n) in the worst case and O(log n + cap) typically, with a small constant (a few
 * hundred nanoseconds for n = 10 080). A Fenwick tree over the values themselves would need
 * the value domain up front, which a stream does not have.
 *
 * Counts are exact integers, so the rank does not depend on the structure's history: batch
 * and streaming, or two series with different starts, give identical ranks.
 */
export class SortedWindow {
  readonly n: number;
  private readonly minValid: number;
  private readonly ring: Float64Array;
  private readonly ok: Uint8Array;
  private pos = 0;
  private seen = 0;
  private nValid = 0;
  private readonly cap: number;
  private readonly small: number;
  private readonly blocks: Float64Array[] = [];
  private readonly lens: Int32Array;
  /** Last (largest) value of each block, contiguous for the binary searches. */
  private readonly lasts: Float64Array;
  private readonly fen: Int32Array;
  private nb = 0;
  private insertFinger = 0;
  private removeFinger = 0;
  private readonly pool: Float64Array[] = [];
  /**
   * Valid inputs in the window strictly below / at most a value: set by `push` for the
   * value just pushed (when valid), or by `count`.
   */
  less = 0;
  lessEq = 0;

  /**
   * @param n window length in rows
   * @param minValid valid inputs required for a rank; default n
   * @param blockCap block capacity override (tests); default ≈ √n, a power of two in 32..256
   */
  constructor(n: number, minValid = n, blockCap?: number) {
    this.n = n;
    this.minValid = minValid;
    this.ring = new Float64Array(n);
    this.ok = new Uint8Array(n);
    this.cap = blockCap ?? Math.max(32, Math.min(256, 2 ** Math.round(Math.log2(Math.sqrt(n)))));
    this.small = this.cap >> 2;
    const maxBlocks = 2 * Math.ceil(n / this.small) + 4;
    this.lens = new Int32Array(maxBlocks);
    this.lasts = new Float64Array(maxBlocks);
    this.fen = new Int32Array(maxBlocks + 1);
  }

  /** Valid inputs in the window now. */
  get size(): number {
    return this.nValid;
  }

  /** The window has seen n rows since its first valid input and holds ≥ minValid valid ones. */
  get ready(): boolean {
    return this.seen === this.n && this.nValid >= this.minValid;
  }

  push(x: number): void {
    const p = this.pos;
    if (this.ok[p] === 1) {
      this.remove(this.ring[p]);
      this.nValid--;
    }
    if (x - x === 0) {
      this.ring[p] = x;
      this.ok[p] = 1;
      this.nValid++; // before insert: its rank count may use the total
      this.insert(x);
    } else {
      this.ok[p] = 0;
    }
    this.pos = p + 1 === this.n ? 0 : p + 1;
    // Counted from the first valid input (see RollingSum).
    if (this.seen < this.n && (this.seen > 0 || x - x === 0)) this.seen++;
  }

  /** Count the window's valid inputs below and at most x into `less` / `lessEq`. */
  count(x: number): void {
    const nb = this.nb;
    const j = this.firstLastAtLeast(x, 0);
    if (j === nb) {
      this.less = this.nValid;
      this.lessEq = this.nValid;
      return;
    }
    const before = this.prefix(j);
    const b = this.blocks[j];
    const len = this.lens[j];
    this.less = before + lowerBound(b, len, x);
    if (this.lasts[j] > x) {
      this.lessEq = before + upperBound(b, len, x);
    } else {
      // Values equal to x continue past this block, maybe over several blocks.
      const k = this.firstLastAbove(x, j);
      this.lessEq = k === nb ? this.nValid : this.prefix(k) + upperBound(this.blocks[k], this.lens[k], x);
    }
  }

  /**
   * The block for x (first block whose last value is ≥ x, nb if none), trying `finger`
   * and its neighbours first: consecutive inserts (and removals) of a smooth series land
   * in the same block, which saves the binary search.
   */
  private blockFor(x: number, finger: number): number {
    const nb = this.nb;
    const lasts = this.lasts;
    for (let j = finger - 1; j <= finger + 1; j++) {
      if (j >= 0 && j < nb && lasts[j] >= x && (j === 0 || lasts[j - 1] < x)) return j;
    }
    return this.firstLastAtLeast(x, 0);
  }

  /** First block index ≥ from whose last value is ≥ x (nb if none). */
  private firstLastAtLeast(x: number, from: number): number {
    const lasts = this.lasts;
    let lo = from;
    let hi = this.nb;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (lasts[mid] < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** First block index ≥ from whose last value is > x (nb if none). */
  private firstLastAbove(x: number, from: number): number {
    const lasts = this.lasts;
    let lo = from;
    let hi = this.nb;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (lasts[mid] <= x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private insert(x: number): void {
    if (this.nb === 0) {
      const b = this.newBlock();
      b[0] = x;
      this.blocks[0] = b;
      this.lens[0] = 1;
      this.lasts[0] = x;
      this.nb = 1;
      this.rebuild();
      this.less = 0;
      this.lessEq = 1;
      return;
    }
    let j = this.blockFor(x, this.insertFinger);
    if (j === this.nb) j--;
    this.insertFinger = j;
    const b = this.blocks[j];
    const len = this.lens[j];
    const at = upperBound(b, len, x);
    // The rank of x falls out of the insertion point: blocks before j, plus the values
    // of block j before `at` (all ≤ x), minus those equal to x for the strict count.
    const tiesMayContinue = at === len && j + 1 < this.nb && this.lasts[j] === x;
    const before = this.prefix(j);
    let e = at;
    while (e > 0 && b[e - 1] === x) e--;
    this.less = before + e;
    this.lessEq = before + at + 1;
    for (let i = len; i > at; i--) b[i] = b[i - 1];
    b[at] = x;
    this.lens[j] = len + 1;
    if (at === len) this.lasts[j] = x;
    if (len + 1 === this.cap) this.split(j);
    else this.fenAdd(j, 1);
    // Rare: x equals the last value of block j and the next blocks start with it too.
    if (tiesMayContinue) this.count(x);
  }

  private remove(x: number): void {
    const j = this.blockFor(x, this.removeFinger);
    this.removeFinger = j;
    const b = this.blocks[j];
    const len = j < this.nb ? this.lens[j] : 0;
    const at = len > 0 ? lowerBound(b, len, x) : 0;
    if (at >= len || b[at] !== x) {
      throw new Error(`SortedWindow: value ${x} leaving the window is not in the sorted set (internal invariant broken)`);
    }
    for (let i = at; i < len - 1; i++) b[i] = b[i + 1];
    const left = len - 1;
    this.lens[j] = left;
    if (left > 0) this.lasts[j] = b[left - 1];
    if (left === 0) {
      this.pool.push(b);
      this.deleteBlock(j);
      this.rebuild();
    } else if (left < this.small && j + 1 < this.nb && left + this.lens[j + 1] < this.cap) {
      this.merge(j);
    } else if (left < this.small && j > 0 && left + this.lens[j - 1] < this.cap) {
      this.merge(j - 1);
    } else {
      this.fenAdd(j, -1);
    }
  }

  /** Split full block j into two halves. */
  private split(j: number): void {
    const b = this.blocks[j];
    const keep = this.cap >> 1;
    const nbk = this.newBlock();
    for (let i = keep; i < this.cap; i++) nbk[i - keep] = b[i];
    for (let k = this.nb; k > j + 1; k--) {
      this.blocks[k] = this.blocks[k - 1];
      this.lens[k] = this.lens[k - 1];
      this.lasts[k] = this.lasts[k - 1];
    }
    this.blocks[j + 1] = nbk;
    this.lens[j + 1] = this.cap - keep;
    this.lasts[j + 1] = this.lasts[j];
    this.lens[j] = keep;
    this.lasts[j] = b[keep - 1];
    this.nb++;
    this.rebuild();
  }

  /** Append block j+1 to block j. */
  private merge(j: number): void {
    const a = this.blocks[j];
    const b = this.blocks[j + 1];
    const la = this.lens[j];
    const lb = this.lens[j + 1];
    for (let i = 0; i < lb; i++) a[la + i] = b[i];
    this.lens[j] = la + lb;
    this.lasts[j] = this.lasts[j + 1];
    this.pool.push(b);
    this.deleteBlock(j + 1);
    this.rebuild();
  }

  private deleteBlock(j: number): void {
    for (let k = j; k < this.nb - 1; k++) {
      this.blocks[k] = this.blocks[k + 1];
      this.lens[k] = this.lens[k + 1];
      this.lasts[k] = this.lasts[k + 1];
    }
    this.nb--;
  }

  private newBlock(): Float64Array {
    return this.pool.pop() ?? new Float64Array(this.cap);
  }

  /** Fenwick tree over lens[0..nb), built in O(nb). */
  private rebuild(): void {
    const f = this.fen;
    const nb = this.nb;
    f.fill(0, 0, nb + 1);
    for (let i = 1; i <= nb; i++) {
      f[i] += this.lens[i - 1];
      const p = i + (i & -i);
      if (p <= nb) f[p] += f[i];
    }
  }

  private fenAdd(j: number, d: number): void {
    const f = this.fen;
    for (let i = j + 1; i <= this.nb; i += i & -i) f[i] += d;
  }

  /** Values in blocks 0..j−1. */
  private prefix(j: number): number {
    const f = this.fen;
    let s = 0;
    for (let i = j; i > 0; i -= i & -i) s += f[i];
    return s;
  }
}

/** First index in a[0..len) with a[i] ≥ x. */
function lowerBound(a: Float64Array, len: number, x: number): number {
  let lo = 0;
  let hi = len;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (a[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index in a[0..len) with a[i] > x. */
function upperBound(a: Float64Array, len: number, x: number): number {
  let lo = 0;
  let hi = len;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (a[mid] <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Percentile rank of x among n window values (x included) from the counts of values below
 * and at most x, with the average rank for ties: `(rank − 1) / (n − 1)` in 0..1 (1 = the
 * largest), or inverted `(n − rank) / (n − 1)` (1 = the smallest).
 */
export function percentileRank(less: number, lessEq: number, n: number, inverted: boolean): number {
  const rank = less + (lessEq - less + 1) / 2;
  return inverted ? (n - rank) / (n - 1) : (rank - 1) / (n - 1);
}
