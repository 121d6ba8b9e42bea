import { Mulberry32 } from '@engine/shared';
import { Adam, Mlp } from '../src';

function normal(rng: Mulberry32): number {
  return Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next());
}

/**
 * A network whose first A outputs are action logits and whose last is a value:
 * loss = −Σ log softmax(z)[a] + ½ Σ (v − y)².
 */
function loss(net: Mlp, x: Float64Array, rows: number, actions: Int32Array, targets: Float64Array, gradOut?: Float64Array): number {
  const K = net.outputSize;
  const A = K - 1;
  const z = net.forward(x, rows);
  let total = 0;
  for (let i = 0; i < rows; i++) {
    let max = -Infinity;
    for (let a = 0; a < A; a++) max = Math.max(max, z[i * K + a]);
    let sum = 0;
    for (let a = 0; a < A; a++) sum += Math.exp(z[i * K + a] - max);
    const logSum = max + Math.log(sum);
    total -= z[i * K + actions[i]] - logSum;
    const err = z[i * K + A] - targets[i];
    total += 0.5 * err * err;
    if (gradOut !== undefined) {
      for (let a = 0; a < A; a++) gradOut[i * K + a] = Math.exp(z[i * K + a] - logSum) - (a === actions[i] ? 1 : 0);
      gradOut[i * K + A] = err;
    }
  }
  return total;
}

describe('Mlp', () => {
  it('back-propagates the exact gradient: central differences agree within 1e-6 relative on every parameter', () => {
    const rng = new Mulberry32(7);
    const net = Mlp.orthogonal([5, 7, 6, 4], rng, Math.SQRT2, 1);
    // non-zero biases, so their gradients are checked away from the symmetric start
    for (let l = 0; l < 3; l++) for (let k = 0; k < net.sizes[l + 1]; k++) net.params[net.biasOffsets[l] + k] = 0.3 * normal(rng);
    const rows = 9;
    const x = Float64Array.from({ length: rows * 5 }, () => normal(rng));
    const actions = Int32Array.from({ length: rows }, () => rng.nextInt(3));
    const targets = Float64Array.from({ length: rows }, () => normal(rng));
    const gradOut = new Float64Array(rows * 4);
    loss(net, x, rows, actions, targets, gradOut);
    const grad = new Float64Array(net.parameterCount);
    net.backward(gradOut, rows, grad);

    const h = 1e-5;
    let maxRel = 0;
    for (let k = 0; k < net.parameterCount; k++) {
      const keep = net.params[k];
      net.params[k] = keep + h;
      const up = loss(net, x, rows, actions, targets);
      net.params[k] = keep - h;
      const down = loss(net, x, rows, actions, targets);
      net.params[k] = keep;
      const numeric = (up - down) / (2 * h);
      const rel = Math.abs(numeric - grad[k]) / Math.max(Math.abs(numeric), Math.abs(grad[k]), 1e-8);
      maxRel = Math.max(maxRel, rel);
    }
    expect(net.parameterCount).toBe(5 * 7 + 7 + 7 * 6 + 6 + 6 * 4 + 4);
    expect(maxRel).toBeLessThan(1e-6);
  });

  it('initialises orthogonal weights scaled by the gains, zero biases, the same for the same seed', () => {
    const a = Mlp.orthogonal([4, 64, 64, 2], new Mulberry32(3), Math.SQRT2, 0.01);
    const b = Mlp.orthogonal([4, 64, 64, 2], new Mulberry32(3), Math.SQRT2, 0.01);
    const c = Mlp.orthogonal([4, 64, 64, 2], new Mulberry32(4), Math.SQRT2, 0.01);
    expect(Buffer.from(a.params.buffer).equals(Buffer.from(b.params.buffer))).toBe(true);
    expect(Buffer.from(a.params.buffer).equals(Buffer.from(c.params.buffer))).toBe(false);
    // W Wᵀ (rows ≤ cols) or Wᵀ W (rows ≥ cols) is gain² I
    const check = (l: number, gain: number): void => {
      const nIn = a.sizes[l];
      const nOut = a.sizes[l + 1];
      const w = a.params.subarray(a.weightOffsets[l], a.weightOffsets[l] + nIn * nOut);
      const byCols = nOut >= nIn;
      const count = byCols ? nIn : nOut;
      let maxDev = 0;
      for (let u = 0; u < count; u++) {
        for (let v = 0; v < count; v++) {
          let s = 0;
          if (byCols) for (let o = 0; o < nOut; o++) s += w[o * nIn + u] * w[o * nIn + v];
          else for (let j = 0; j < nIn; j++) s += w[u * nIn + j] * w[v * nIn + j];
          maxDev = Math.max(maxDev, Math.abs(s - (u === v ? gain * gain : 0)));
        }
      }
      expect(maxDev).toBeLessThan(1e-12);
      expect(a.params.subarray(a.biasOffsets[l], a.biasOffsets[l] + nOut).every((b) => b === 0)).toBe(true);
    };
    check(0, Math.SQRT2);
    check(1, Math.SQRT2);
    check(2, 0.01);
  });

  it("computes a row's output the same, bit for bit, whatever batch it comes in", () => {
    const rng = new Mulberry32(11);
    const net = Mlp.orthogonal([4, 64, 64, 2], rng, Math.SQRT2, 1);
    const rows = 37;
    const x = Float64Array.from({ length: rows * 4 }, () => normal(rng));
    const all = Float64Array.from(net.forward(x, rows));
    for (let i = 0; i < rows; i++) {
      const one = net.forward(x.slice(i * 4, i * 4 + 4), 1);
      expect(one[0]).toBe(all[i * 2]);
      expect(one[1]).toBe(all[i * 2 + 1]);
    }
  });
});

describe('Adam', () => {
  it('follows PyTorch\'s update, with the global gradient norm clipped across the groups', () => {
    const p = [Float64Array.of(1, -2), Float64Array.of(0.5)];
    const adam = new Adam(p, { epsilon: 1e-8, maxGradNorm: 0.5 });
    // the reference, written out for one parameter: clip, moments, bias corrections
    const lr = 0.1;
    let ref = 1;
    let m = 0;
    let v = 0;
    const grads = [
      [3, 0, 4],
      [0.1, 0, 0],
      [-0.2, 0.05, 0],
    ];
    grads.forEach((gs, t) => {
      const norm = Math.hypot(...gs);
      const g = [Float64Array.of(gs[0], gs[1]), Float64Array.of(gs[2])];
      expect(adam.step(g, lr)).toBeCloseTo(norm, 14);
      const scale = 0.5 / (norm + 1e-6) < 1 ? 0.5 / (norm + 1e-6) : 1;
      const g0 = gs[0] * scale;
      expect(g[0][0]).toBe(g0);
      m = 0.9 * m + 0.1 * g0;
      v = 0.999 * v + 0.001 * g0 * g0;
      ref -= (lr / (1 - 0.9 ** (t + 1))) * (m / (Math.sqrt(v) / Math.sqrt(1 - 0.999 ** (t + 1)) + 1e-8));
      expect(p[0][0]).toBeCloseTo(ref, 14);
      if (t === 0) {
        // the first step moves every parameter with a gradient by lr·sign(g), whatever its size
        expect(p[1][0]).toBeCloseTo(0.5 - lr, 6);
        expect(p[0][1]).toBe(-2);
      }
    });
  });
});
