/**
 * Mulberry32's state increment (a Weyl sequence): after k draws the state is
 * `seed + k · MULBERRY32_STEP`, so a loop can jump ahead or draw inline (see
 * gbdt's row-kernels.drawBagChunk) and stay on the same sequence.
 */
export const MULBERRY32_STEP = 0x6d2b79f5;

/**
 * A small seeded PRNG (mulberry32): 32-bit state, full period 2^32, fast, and identical on
 * every platform, so the same seed always gives the same bags, feature draws and bin samples.
 */
export class Mulberry32 {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Next uint32. */
  nextUint32(): number {
    let t = (this.state = (this.state + MULBERRY32_STEP) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** The raw state (for loops that draw inline, see row-kernels.drawBag). */
  get rawState(): number {
    return this.state;
  }

  /** Skips `k` draws. */
  advance(k: number): void {
    this.state = (this.state + Math.imul(k, MULBERRY32_STEP)) >>> 0;
  }

  /** Uniform integer in [0, n). */
  nextInt(n: number): number {
    return Math.floor(this.next() * n);
  }
}

/** Derives an independent stream seed from a base seed and a stream id (splitmix-style hash). */
export function deriveSeed(seed: number, stream: number): number {
  let z = (seed + Math.imul(stream + 1, 0x9e3779b9)) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}

