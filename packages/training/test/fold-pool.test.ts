import { resolveGbdtParams, trainGbdt } from '@engine/gbdt';
import { Mulberry32 } from '@engine/shared';
import { type FitJob, FoldTrainerPool } from '../src/pipeline/fold-pool';

function data(n: number, F: number) {
  const r = new Mulberry32(42);
  const columns = Array.from({ length: F }, () => Float64Array.from({ length: n }, () => (r.next() < 0.05 ? NaN : r.next() * 2 - 1)));
  const target = Float64Array.from({ length: n }, (_, i) => 3 * (columns[0]![i]! || 0) - 2 * (columns[1]![i]! || 0) + r.next());
  return { columns, target, names: Array.from({ length: F }, (_, k) => `f${k}`) };
}

describe('FoldTrainerPool', () => {
  const d = data(3000, 5);
  const params = resolveGbdtParams({ nEstimators: 20, maxDepth: 3 });
  const range = (a: number, b: number) => Int32Array.from({ length: b - a }, (_, k) => a + k);
  const jobs: FitJob[] = [
    { id: 0, rows: range(0, 1000), params, predict: range(1000, 1500), wantModel: false },
    { id: 1, rows: range(500, 2000), params, predict: range(2000, 2500), wantModel: false },
    { id: 2, rows: range(0, 3000), params: resolveGbdtParams({ nEstimators: 10, objective: 'logistic' }), predict: new Int32Array(0), wantModel: true },
  ];

  it('gives identical predictions and models on worker threads and in-process', async () => {
    const runWith = async (workers: number) => {
      const pool = FoldTrainerPool.create(workers, d, trainGbdt);
      const done: number[] = [];
      try {
        return { res: await pool.run(jobs, (j) => done.push(j.id)), done };
      } finally {
        await pool.close();
      }
    };
    const a = await runWith(1);
    const b = await runWith(2);
    expect(a.done.sort()).toEqual([0, 1, 2]);
    expect(b.done.sort()).toEqual([0, 1, 2]);
    for (const id of [0, 1]) expect(Array.from(b.res.get(id)!.predictions)).toEqual(Array.from(a.res.get(id)!.predictions));
    expect(b.res.get(2)!.model!.serialize()).toBe(a.res.get(2)!.model!.serialize());
    expect(a.res.get(0)!.model).toBeNull();
  });

  it('stops on abort', async () => {
    const pool = FoldTrainerPool.create(2, d, trainGbdt);
    const ac = new AbortController();
    ac.abort(new Error('stop now'));
    try {
      await expect(pool.run(jobs, () => undefined, ac.signal)).rejects.toThrow('stop now');
    } finally {
      await pool.close();
    }
  });
});
