import { ConfigError, DataError, type Mulberry32 } from '@engine/shared';

// Math's functions in module constants: under a vm context (jest) every global lookup in a
// hot loop goes through the context's interceptor (4× slower forward passes); elsewhere free.
const { tanh } = Math;

/**
 * A fully connected network: `sizes = [inputs, hidden₁, …, outputs]`, tanh after every hidden
 * layer, a linear output. All parameters live in one Float64Array, layer by layer: the
 * weights of layer l as a row-major [out, in] matrix (one row per output unit, the layout of
 * PyTorch's `Linear.weight` and of ONNX `Gemm` with `transB = 1`), then its out biases.
 *
 * `forward` keeps every layer's activations in buffers that grow to the largest batch seen,
 * so `backward` can follow it without recomputing and a training loop allocates nothing per
 * minibatch. One instance is therefore not re-entrant: `backward` uses the last `forward`.
 */
export class Mlp {
  readonly sizes: readonly number[];
  readonly params: Float64Array;
  /** Start of each layer's weights in {@link Mlp.params} (layer l maps sizes[l] → sizes[l + 1]). */
  readonly weightOffsets: readonly number[];
  /** Start of each layer's biases in {@link Mlp.params}. */
  readonly biasOffsets: readonly number[];
  private readonly maxWidth: number;
  private capacity = 0;
  /** acts[l + 1]: the output of layer l for the last batch; acts[0] is the last input. */
  private readonly acts: Float64Array[];
  private scratchA = new Float64Array(0);
  private scratchB = new Float64Array(0);
  private dzT = new Float64Array(0);
  private aT = new Float64Array(0);
  private readonly wT: Float64Array;
  private lastRows = -1;

  constructor(sizes: readonly number[], params?: Float64Array) {
    if (sizes.length < 2 || sizes.some((s) => !Number.isInteger(s) || s < 1)) {
      throw new ConfigError(`an MLP needs at least an input and an output size, each a positive integer; got [${sizes.join(', ')}]`, { param: 'sizes' });
    }
    const w: number[] = [];
    const b: number[] = [];
    let n = 0;
    for (let l = 0; l + 1 < sizes.length; l++) {
      w.push(n);
      n += sizes[l] * sizes[l + 1];
      b.push(n);
      n += sizes[l + 1];
    }
    if (params !== undefined && params.length !== n) {
      throw new DataError('MODEL_INVALID', `an MLP of sizes [${sizes.join(', ')}] has ${n} parameters; got ${params.length}`);
    }
    this.sizes = [...sizes];
    this.params = params ?? new Float64Array(n);
    this.weightOffsets = w;
    this.biasOffsets = b;
    this.maxWidth = Math.max(...sizes);
    this.acts = sizes.map(() => new Float64Array(0));
    let largest = 0;
    for (let l = 0; l + 1 < sizes.length; l++) largest = Math.max(largest, sizes[l] * sizes[l + 1]);
    this.wT = new Float64Array(largest);
  }

  /**
   * A network with orthogonal weights and zero biases, as PPO implementations initialise
   * them (OpenAI baselines, Stable-Baselines3): each weight matrix is the Q of the QR
   * decomposition of a standard-normal matrix, signs fixed so R has a positive diagonal
   * (PyTorch's `orthogonal_`), times `hiddenGain` (√2 for tanh layers) or `outputGain`
   * (0.01 for a policy head, so the first policy is close to uniform; 1 for a value head).
   */
  static orthogonal(sizes: readonly number[], rng: Mulberry32, hiddenGain: number, outputGain: number): Mlp {
    const m = new Mlp(sizes);
    const L = sizes.length - 1;
    for (let l = 0; l < L; l++) {
      orthogonalFill(m.params, m.weightOffsets[l], sizes[l + 1], sizes[l], l === L - 1 ? outputGain : hiddenGain, rng);
    }
    return m;
  }

  get inputSize(): number {
    return this.sizes[0];
  }

  get outputSize(): number {
    return this.sizes[this.sizes.length - 1];
  }

  get parameterCount(): number {
    return this.params.length;
  }

  /** A network with a copy of these parameters (and its own buffers). */
  clone(): Mlp {
    return new Mlp(this.sizes, Float64Array.from(this.params));
  }

  private reserve(rows: number): void {
    if (rows <= this.capacity) return;
    for (let l = 1; l < this.sizes.length; l++) this.acts[l] = new Float64Array(rows * this.sizes[l]);
    this.scratchA = new Float64Array(rows * this.maxWidth);
    this.scratchB = new Float64Array(rows * this.maxWidth);
    this.capacity = rows;
  }

  /**
   * Outputs of `rows` inputs (row-major [rows, inputs] in `x`). The result is a view of an
   * internal buffer, valid until the next call. Every row is computed on its own, in the
   * same order, so a row's output does not depend on the batch it came in. `x` is kept, not
   * copied, for {@link Mlp.backward}: leave it unchanged until then.
   */
  forward(x: Float64Array, rows: number): Float64Array {
    if (x.length < rows * this.sizes[0]) throw new DataError('MATRIX_SHAPE', `${rows} rows of ${this.sizes[0]} inputs need ${rows * this.sizes[0]} values; got ${x.length}`);
    this.reserve(rows);
    this.acts[0] = x;
    const p = this.params;
    const L = this.sizes.length - 1;
    for (let l = 0; l < L; l++) {
      const nIn = this.sizes[l];
      const nOut = this.sizes[l + 1];
      const a = this.acts[l];
      const z = this.acts[l + 1];
      const wo = this.weightOffsets[l];
      const bo = this.biasOffsets[l];
      const hidden = l < L - 1;
      for (let i = 0; i < rows; i++) {
        const ai = i * nIn;
        const zi = i * nOut;
        for (let o = 0; o < nOut; o++) {
          const wr = wo + o * nIn;
          const s = p[bo + o] + dot(p, wr, a, ai, nIn);
          z[zi + o] = hidden ? tanh(s) : s;
        }
      }
    }
    this.lastRows = rows;
    return this.acts[L].subarray(0, rows * this.sizes[L]);
  }

  /**
   * Gradient of a loss with respect to every parameter, written into `grad` (same layout as
   * {@link Mlp.params}), given the gradient with respect to the outputs of the last
   * {@link Mlp.forward} (row-major [rows, outputs]).
   */
  backward(gradOutput: Float64Array, rows: number, grad: Float64Array): void {
    if (rows !== this.lastRows) throw new DataError('MATRIX_SHAPE', `backward over ${rows} rows follows a forward over ${this.lastRows}`);
    if (grad.length !== this.params.length) throw new DataError('MATRIX_SHAPE', `the gradient needs ${this.params.length} values; got ${grad.length}`);
    const p = this.params;
    const L = this.sizes.length - 1;
    this.reserveBackward();
    const dzT = this.dzT;
    const aT = this.aT;
    const wT = this.wT;
    let dz = gradOutput; // gradient w.r.t. the pre-activations of layer l, [rows, out]
    for (let l = L - 1; l >= 0; l--) {
      const nIn = this.sizes[l];
      const nOut = this.sizes[l + 1];
      const a = this.acts[l];
      const wo = this.weightOffsets[l];
      const bo = this.biasOffsets[l];
      // Transposed copies make every sum below a contiguous dot product (no read-modify-write):
      // ∂W[o][j] = Σ_i dz[i][o]·a[i][j] is dzᵀ[o]·aᵀ[j] over the rows.
      for (let i = 0; i < rows; i++) for (let o = 0; o < nOut; o++) dzT[o * rows + i] = dz[i * nOut + o];
      for (let i = 0; i < rows; i++) for (let j = 0; j < nIn; j++) aT[j * rows + i] = a[i * nIn + j];
      for (let o = 0; o < nOut; o++) {
        let sb = 0;
        for (let i = 0; i < rows; i++) sb += dzT[o * rows + i];
        grad[bo + o] = sb;
        const wr = wo + o * nIn;
        for (let j = 0; j < nIn; j++) grad[wr + j] = dot(dzT, o * rows, aT, j * rows, rows);
      }
      if (l === 0) break; // the input needs no gradient
      // ∂a[i][j] = Σ_o dz[i][o]·W[o][j], then through tanh: d tanh(z)/dz = 1 − tanh(z)²
      for (let o = 0; o < nOut; o++) for (let j = 0; j < nIn; j++) wT[j * nOut + o] = p[wo + o * nIn + j];
      const da = dz === this.scratchA ? this.scratchB : this.scratchA;
      for (let i = 0; i < rows; i++) {
        for (let j = 0; j < nIn; j++) {
          const t = a[i * nIn + j];
          da[i * nIn + j] = dot(dz, i * nOut, wT, j * nOut, nOut) * (1 - t * t);
        }
      }
      dz = da;
    }
  }

  /** Transposition buffers, as large as forward's (which has seen at least these rows). */
  private reserveBackward(): void {
    if (this.dzT.length >= this.capacity * this.maxWidth) return;
    this.dzT = new Float64Array(this.capacity * this.maxWidth);
    this.aT = new Float64Array(this.capacity * this.maxWidth);
  }
}

/**
 * Σ_k x[xo + k]·y[yo + k], four partial sums at a time (independent chains run faster than
 * one; the order is fixed, so the result is too).
 */
function dot(x: Float64Array, xo: number, y: Float64Array, yo: number, n: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let k = 0;
  for (; k + 3 < n; k += 4) {
    s0 += x[xo + k] * y[yo + k];
    s1 += x[xo + k + 1] * y[yo + k + 1];
    s2 += x[xo + k + 2] * y[yo + k + 2];
    s3 += x[xo + k + 3] * y[yo + k + 3];
  }
  for (; k < n; k++) s0 += x[xo + k] * y[yo + k];
  return s0 + s1 + (s2 + s3);
}

/** One standard normal draw (Box–Muller, one of the pair). */
function normal(rng: Mulberry32): number {
  return Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next());
}

/**
 * Fills the row-major [rows, cols] matrix at `params[offset]` with a scaled orthogonal
 * matrix: modified Gram–Schmidt on the min(rows, cols) standard-normal vectors of length
 * max(rows, cols) (the columns when rows ≥ cols, else the rows), which gives the Q of the QR
 * decomposition with R's diagonal positive.
 */
function orthogonalFill(params: Float64Array, offset: number, rows: number, cols: number, gain: number, rng: Mulberry32): void {
  const a = new Float64Array(rows * cols);
  for (let k = 0; k < a.length; k++) a[k] = normal(rng);
  const byColumns = rows >= cols;
  const count = byColumns ? cols : rows;
  const len = byColumns ? rows : cols;
  // the vectors, one per row of q
  const q = new Float64Array(count * len);
  for (let v = 0; v < count; v++) for (let e = 0; e < len; e++) q[v * len + e] = byColumns ? a[e * cols + v] : a[v * cols + e];
  for (let v = 0; v < count; v++) {
    const qv = v * len;
    for (let u = 0; u < v; u++) {
      const qu = u * len;
      let dot = 0;
      for (let e = 0; e < len; e++) dot += q[qu + e] * q[qv + e];
      for (let e = 0; e < len; e++) q[qv + e] -= dot * q[qu + e];
    }
    let norm = 0;
    for (let e = 0; e < len; e++) norm += q[qv + e] * q[qv + e];
    norm = Math.sqrt(norm);
    for (let e = 0; e < len; e++) q[qv + e] /= norm;
  }
  for (let v = 0; v < count; v++) {
    for (let e = 0; e < len; e++) params[offset + (byColumns ? e * cols + v : v * cols + e)] = gain * q[v * len + e];
  }
}
