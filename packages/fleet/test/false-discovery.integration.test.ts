import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { randomUUID } from 'node:crypto';
import { createLogger, loadConfig } from '@engine/shared';
import { openRegistryContext, stagingKey, type RegistryContext } from '@engine/registry';
import { makeBundle } from '../../registry/test/support/bundles';
import { decideRun } from '../src';

/**
 * A run's false-discovery control on a real registry (PGlite, folder staging): the run's
 * held candidates are adjusted together over p = 1 − PSR(0) of their trials, survivors
 * publish, the others are rejected with the reason; non-candidates are released as they
 * were; every staged candidate manifest carries the decision; a rerun decides nothing.
 */
describe('decideRun', () => {
  let dir: string;
  let reg: RegistryContext;
  const log = createLogger({ level: 'silent' });
  const RUN = '2026-07-12';
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'engine-fdr-'));
    reg = await openRegistryContext(loadConfig({ ENGINE_DATA_DIR: dir }), { actor: 'test', logger: log });
  });
  afterAll(async () => {
    await reg.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** A held model of `symbol` whose trial has PSR(0) = psr0. */
  async function held(symbol: string, psr0: number, passed = true): Promise<string> {
    const b = makeBundle({ symbol, runDate: RUN, passed, seed: symbol.length + Math.round(psr0 * 1000) });
    const ref = { modelId: b.manifest.model_id, symbol, runDate: RUN };
    await reg.trials.record({
      symbol, runDate: RUN, configHash: randomUUID().replace(/-/g, '').repeat(2), modelFamily: 'gbdt', seed: 0, isControl: false, modelId: ref.modelId,
      source: 'fleet', oosDays: 3, sharpe: 0.1, skew: 0, kurtosis: 3, psr0, firstDay: '2026-07-01', dailyPnl: [1, -1, 2],
    });
    await reg.store.put(stagingKey(ref), b);
    await reg.registry.recordModel(b, stagingKey(ref), { hold: true, actor: 'train@a' });
    return ref.modelId;
  }

  test('BY at q = 0.05 over the candidates: only the survivor publishes, nothing is left held', async () => {
    const a = await held('AAA/USDT', 0.999); // p 0.001 → BY-adjusted 0.0055
    const b = await held('BBB/USDT', 0.97); // p 0.03 → 0.0825
    const c = await held('CCC/USDT', 0.5); // p 0.5 → 0.9167
    const d = await held('DDD/USDT', 0.99, false); // failed its own gates: not a candidate
    const published: string[] = [];
    const decisions = await decideRun(RUN, reg, { settings: { method: 'by', q: 0.05 }, actor: 'scheduler', decidedBy: `run-${RUN}`, log, publish: async (ref) => void published.push(ref.modelId) });

    const by = new Map(decisions.map((x) => [x.modelId, x]));
    expect(by.get(a)).toMatchObject({ candidate: true, verdict: 'published', released: true });
    expect(by.get(a)!.pAdjusted).toBeCloseTo(0.001 * 3 * (1 + 1 / 2 + 1 / 3), 10);
    expect(by.get(b)).toMatchObject({ candidate: true, verdict: 'rejected' });
    expect(by.get(b)!.pAdjusted).toBeCloseTo((0.03 * 3) / 2 * (11 / 6), 10);
    expect(by.get(c)).toMatchObject({ candidate: true, verdict: 'rejected' });
    expect(by.get(d)).toMatchObject({ candidate: false, p: null, verdict: 'rejected' });
    expect(published.sort()).toEqual([a, b, c, d].sort());

    // The registry and the staged bundles carry the decision.
    expect((await reg.registry.liveModel('AAA/USDT'))?.modelId).toBe(a);
    expect(await reg.registry.liveModel('BBB/USDT')).toBeNull();
    const bb = (await reg.registry.getModel(b))!;
    expect(bb.reasons).toEqual([expect.stringMatching(/^false_discovery: 0\.0825 > 0\.05/)]);
    expect(bb.falseDiscovery).toMatchObject({ method: 'by', q: 0.05, candidates: 3, survived: false });
    const staged = await reg.store.get(stagingKey({ modelId: b, symbol: 'BBB/USDT', runDate: RUN }));
    expect(staged.manifest.false_discovery).toMatchObject({ candidates: 3, survived: false });
    expect(staged.manifest.gates.passed).toBe(false);
    const dd = await reg.store.get(stagingKey({ modelId: d, symbol: 'DDD/USDT', runDate: RUN }));
    expect(dd.manifest.false_discovery).toBeUndefined();
    expect((await reg.registry.pendingSync()).length).toBe(4);

    // A retry of the run decides nothing more.
    expect(await decideRun(RUN, reg, { settings: { method: 'by', q: 0.05 }, actor: 'scheduler', decidedBy: `run-${RUN}`, log })).toEqual([]);
  });
});
