import { resolveGbdtParams } from '@engine/gbdt';
import { Mulberry32 } from '@engine/shared';
import { type FitJob, FoldTrainerPool } from '../src/pipeline/fold-pool';

function data(n: number, F: number) {
  const r = new Mulberry32(42);
  const columns = Array.from({ length: F }, () => Float64Array.from({ length: n }, () => (r.next() < 0.05 ? NaN : r.next() * 2 - 1)));
  const target = Float64Array.from({ length: n }, (_, i) => 3 * (columns[0]![i]! || 0) - 2 * (columns[1]![i]! || 0) + r.next());
  // one-minute rows with 10-minute labels
  const ts = Float64Array.from({ length: n }, (_, i) => i * 60_000);
  const labelEnd = Float64Array.from(ts, (t) => t + 600_000);
  return { columns, target, names: Array.from({ length: F }, (_, k) => `f${k}`), ts, labelEnd };
}

describe('FoldTrainerPool', () => {
  const d = data(3000, 5);
  const params = resolveGbdtParams({ nEstimators: 20, maxDepth: 3 });
  const range = (a: number, b: number) => Int32Array.from({ length: b - a }, (_, k) => a + k);
  const jobs: FitJob[] = [
    { id: 0, rows: range(0, 1000), spec: { kind: 'trees', params }, predict: range(1000, 1500), wantModel: false },
    { id: 1, rows: range(500, 2000), spec: { kind: 'trees', params }, predict: range(2000, 2500), wantModel: false },
    { id: 2, rows: range(0, 3000), spec: { kind: 'trees', params: resolveGbdtParams({ nEstimators: 10, objective: 'logistic' }) }, predict: new Int32Array(0), wantModel: true },
    {
      id: 3,
      rows: range(0, 2000),
      spec: {
        kind: 'members',
        members: [
          { name: 'rf', spec: { kind: 'trees', params: resolveGbdtParams({ boosting: 'rf', nEstimators: 20, learningRate: 1, lambdaL2: 0, baggingFraction: 0.3, featureFractionByNode: 0.5 }) } },
          { name: 'linear', spec: { kind: 'ridge', alphas: [1, 100], innerFolds: 3 } },
        ],
      },
      predict: range(2000, 2600),
      wantModel: true,
    },
  ];

  it('gives identical predictions and models on worker threads and in-process', async () => {
    const runWith = async (workers: number) => {
      const pool = FoldTrainerPool.create(workers, d);
      const done: number[] = [];
      try {
        return { res: await pool.run(jobs, (j) => done.push(j.id)), done };
      } finally {
        await pool.close();
      }
    };
    const a = await runWith(1);
    const b = await runWith(2);
    expect(a.done.sort()).toEqual([0, 1, 2, 3]);
    expect(b.done.sort()).toEqual([0, 1, 2, 3]);
    for (const id of [0, 1]) expect(Array.from(b.res.get(id)!.predictions)).toEqual(Array.from(a.res.get(id)!.predictions));
    expect(b.res.get(2)!.models![0]!.serialize()).toBe(a.res.get(2)!.models![0]!.serialize());
    expect(a.res.get(0)!.models).toBeNull();
    // an ensemble's job: every member fitted, predicted and returned, identically on threads
    const ens = b.res.get(3)!;
    expect(ens.members).toHaveLength(2);
    expect(ens.models!.map((m) => m.serialize())).toEqual(a.res.get(3)!.models!.map((m) => m.serialize()));
    for (let k = 0; k < 2; k++) expect(Array.from(ens.members[k]!)).toEqual(Array.from(a.res.get(3)!.members[k]!));
    // both members learned the target (3·f0 − 2·f1 + noise)
    const y = Array.from(range(2000, 2600), (i) => d.target[i]!);
    for (const m of ens.members) {
      const p = Array.from(m);
      const my = y.reduce((s, v) => s + v, 0) / y.length;
      const mp = p.reduce((s, v) => s + v, 0) / p.length;
      let c = 0, vy = 0, vp = 0;
      for (let i = 0; i < y.length; i++) {
        c += (y[i]! - my) * (p[i]! - mp);
        vy += (y[i]! - my) ** 2;
        vp += (p[i]! - mp) ** 2;
      }
      expect(c / Math.sqrt(vy * vp)).toBeGreaterThan(0.8);
    }
  });

  it('stops on abort', async () => {
    const pool = FoldTrainerPool.create(2, d);
    const ac = new AbortController();
    ac.abort(new Error('stop now'));
    try {
      await expect(pool.run(jobs, () => undefined, ac.signal)).rejects.toThrow('stop now');
    } finally {
      await pool.close();
    }
  });
});
