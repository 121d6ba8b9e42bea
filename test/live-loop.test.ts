/**
 * The live loop (issue 19, items 3–5): a published, live model is traded by the consumer,
 * whose `JsonlFeedbackSink` writes decisions and trades into the publish folder; the trade
 * stream's realised edge collapses; the sync worker's monitoring pass ingests it into the
 * registry (real PostgreSQL), finds the breach, demotes the model (a `demoted` event with
 * rule, value and bound) and rewrites latest.json; the consumer's watcher sees it and the
 * trader stops entering (reason `model_demoted`). Ingesting again counts nothing twice.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { JsonlFeedbackSink, ModelDemotedError, ModelWatcher, openModel, Trader } from '@engine/consumer';
import { ingestAndMonitor } from '@engine/fleet';
import type { LiveTrade } from '@engine/model';
import { openRegistryContext, stagingKey, type RegistryContext } from '@engine/registry';
import { loadConfig } from '@engine/shared';
import { FIXTURE_GUARDS, SYN, alterManifest, trainPlanted, type TrainedFixture } from '../packages/consumer/test/support/bundles';
import { TEST_DATABASE_URL } from '../packages/registry/test/support/pg';

describe('the live loop: feedback → monitoring → demotion → the consumer stops', () => {
  let dir: string;
  let reg: RegistryContext;
  let fixture: TrainedFixture;
  let modelId: string;
  const publishDir = () => path.join(dir, 'publish');
  const latest = () => JSON.parse(readFileSync(path.join(publishDir(), 'Runpodhuracan', 'latest', 'SYN-USDT.json'), 'utf8')) as { model_id: string; demoted?: { rule: string; value: number; bound: number } };

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'engine-live-loop-'));
    const config = loadConfig({ DATABASE_URL: TEST_DATABASE_URL, ENGINE_DATA_DIR: dir });
    reg = await openRegistryContext(config, { actor: 'test', schema: `live_${randomBytes(4).toString('hex')}`, targetPolicy: 'claim' });
    fixture = await trainPlanted({ seed: 31 });
    // A model that passed its gates (the fixture's few trees do not; the loop is what is tested here).
    const passed = alterManifest(fixture.bundle, (m) => {
      const g = m.gates as { passed: boolean; failed: string[] };
      g.passed = true;
      g.failed = [];
    });
    const m = passed.manifest;
    const key = stagingKey({ modelId: m.model_id, symbol: m.symbol, runDate: m.run_date });
    await reg.store.put(key, passed);
    await reg.registry.recordModel(passed, key, { actor: 'test' });
    await reg.sync.syncModel(m.model_id);
    modelId = m.model_id;
  }, 180_000);
  afterAll(async () => {
    await reg?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a collapsing live edge is caught, the model demoted, latest.json rewritten, and the trader stops', async () => {
    expect(latest().model_id).toBe(modelId);
    const watcher = new ModelWatcher({ ...FIXTURE_GUARDS, symbol: SYN, source: { kind: 'folder', dir: publishDir() }, intervalMs: 3_600_000 });
    const model = await watcher.start();
    const sink = new JsonlFeedbackSink(publishDir());
    const trader = new Trader({ symbol: SYN, model: watcher, feedback: sink });
    const c = fixture.candles;
    const r = fixture.reference;
    const at = (s: typeof c, i: number) => ({ ts: s.ts[i]!, open: s.open[i]!, high: s.high[i]!, low: s.low[i]!, close: s.close[i]!, volume: s.volume[i]!, gap: s.gap[i]! });
    const n = c.ts.length;
    for (let i = 0; i < n - 60; i++) trader.warmUp(at(c, i), at(r, i));
    for (let i = n - 60; i < n - 30; i++) trader.onCandleSync(at(c, i), at(r, i));

    // The decisions the trader made went to the feedback folder, one line each.
    const day = new Date(c.ts[n - 31]! + 60_000).toISOString().slice(0, 10);
    const file = path.join(publishDir(), 'Runpodhuracan', 'feedback', 'SYN-USDT', `${day}.jsonl`);
    const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { kind: string; model_id: string });
    expect(lines.filter((l) => l.kind === 'decision').length).toBeGreaterThanOrEqual(20);
    expect(lines.every((l) => l.model_id === modelId)).toBe(true);
    // Each decision carries the model's inputs (for feature drift), in feature_names order.
    const decisionsWithInputs = lines.filter((l) => l.kind === 'decision') as unknown as { features: (number | null)[] }[];
    expect(decisionsWithInputs.every((l) => l.features.length === model.inputNames.length)).toBe(true);

    // A trade stream whose edge collapsed: 30 trades, predicted +12 bps, realised about −35.
    const t0 = c.ts[n - 31]!;
    for (let k = 0; k < 30; k++) {
      const trade: LiveTrade = {
        kind: 'trade',
        symbol: SYN,
        model_id: modelId,
        side: 'long',
        entry_ts: new Date(t0 - (30 - k) * 20 * 60_000).toISOString(),
        exit_ts: new Date(t0 - (30 - k) * 20 * 60_000 + 4 * 60_000).toISOString(),
        exit_reason: k % 3 === 0 ? 'sl' : 'time',
        predicted_bps: 12,
        net_bps: -35 + ((k * 7) % 11) - 5,
        gross_bps: -12,
        cost_bps: 23,
      };
      sink.record(trade);
    }

    const now = t0 + 3_600_000;
    const [out] = await ingestAndMonitor(reg, { actor: 'monitor@test', now });
    expect(out).toMatchObject({ symbol: SYN, modelId, demoted: true, badLines: 0 });
    // The 30 of the stream, plus any trade the trader itself closed above (also reported through the sink).
    expect(out!.ingested.trades).toBe(30 + lines.filter((l) => l.kind === 'trade').length);
    expect(out!.ingested.decisions).toBeGreaterThanOrEqual(20);
    const breach = out!.report.breach!;
    expect(breach.rule).toBe('live_edge');
    expect(breach.value).toBeLessThan(0);
    expect(breach.detail).toMatch(new RegExp(`mean realised net -\\d+\\.\\d+ bps over ${out!.ingested.trades} trades`));

    // The registry: an append-only `demoted` event with the rule, value and bound; no live model to trade.
    const ev = (await reg.registry.events(SYN, 10)).find((e) => e.event === 'demoted')!;
    expect(ev).toMatchObject({ modelId, actor: 'monitor@test' });
    expect(ev.details).toMatchObject({ rule: 'live_edge', bound: 0 });
    const live = (await reg.registry.liveModel(SYN))!;
    expect(live.demoted).toMatchObject({ rule: 'live_edge' });
    expect(live.pointerDemoted).toBe(true);
    // The pass is stored (the model page's Live panel reads it).
    const mon = (await reg.registry.latestMonitoring(modelId))!;
    expect(mon).toMatchObject({ breach: 'live_edge', trades: out!.ingested.trades });
    // latest.json says so, at once.
    expect(latest()).toMatchObject({ model_id: modelId, demoted: { rule: 'live_edge', bound: 0 } });

    // The consumer: the watcher notices, the trader follows exits but enters no more.
    expect(await watcher.poll()).toEqual({ kind: 'demoted', modelId });
    expect(model.demoted?.rule).toBe('live_edge');
    const reasons = new Set<string>();
    for (let i = n - 30; i < n; i++) reasons.add(trader.onCandleSync(at(c, i), at(r, i)).reason);
    expect([...reasons]).toEqual(['model_demoted']);
    // A fresh consumer refuses the demoted model outright (unless told otherwise).
    await expect(openModel({ ...FIXTURE_GUARDS, symbol: SYN, source: { kind: 'folder', dir: publishDir() } })).rejects.toThrow(ModelDemotedError);
    const research = await openModel({ ...FIXTURE_GUARDS, allowDemoted: true, symbol: SYN, source: { kind: 'folder', dir: publishDir() } });
    await research.close();
    await watcher.stop();

    // Idempotent: the same files again add nothing and demote nothing twice.
    const again = await ingestAndMonitor(reg, { actor: 'monitor@test', now });
    expect(again).toEqual([]); // the only live model is demoted: not monitored again
    expect((await reg.registry.events(SYN, 50)).filter((e) => e.event === 'demoted')).toHaveLength(1);
  }, 120_000);

  test('feedback is append-only in PostgreSQL and a re-sent record counts once', async () => {
    const t = (await reg.registry.liveTrades(modelId))[0]!;
    expect(await reg.registry.recordLiveFeedback([t])).toEqual({ trades: 0, decisions: 0 });
    await expect(reg.db.query(`DELETE FROM ${reg.registry.schema}.live_trades`)).rejects.toThrow(/append-only/);
  });

  test('feature drift: PSI against the training deciles, with a hand-computed reference; a shifted feature breaches, a stable one does not', async () => {
    const { featureBins, monitorLiveModel, populationStabilityIndex } = await import('@engine/training');
    // Reference: 10 equal bins (edges 1…9), nothing missing in training; every live value in bin 0.
    // PSI = (1 − 0.1)·ln(1/0.1) + 9·(1e-4 − 0.1)·ln(1e-4/0.1) + 0 (missing: both floored at 1e-4)
    //     = 0.9·2.302585 + 9·0.0999·6.907755 = 2.072327 + 6.210772 = 8.283099.
    const uniform = { name: 'x', edges: [1, 2, 3, 4, 5, 6, 7, 8, 9], shares: [...Array<number>(10).fill(0.1), 0] };
    expect(populationStabilityIndex(uniform, Array.from({ length: 100 }, () => 0.5))).toBeCloseTo(0.9 * Math.log(10) + 9 * 0.0999 * Math.log(1000), 9);
    expect(populationStabilityIndex(uniform, Array.from({ length: 1000 }, (_, i) => (i % 10) + 0.5))).toBeCloseTo(0, 9);
    // Deciles of a training sample, then live rows: the same population vs one shifted by 2σ.
    const gauss = (k: number) => Math.sqrt(-2 * Math.log((k % 997 + 0.5) / 997)) * Math.cos((2 * Math.PI * ((k * 7919) % 1009)) / 1009);
    const n = 20_000;
    const train = [Float64Array.from({ length: n }, (_, k) => gauss(k)), Float64Array.from({ length: n }, (_, k) => gauss(k + 5) * 3)];
    const bins = featureBins(['a', 'b'], train, Int32Array.from({ length: n }, (_, k) => k));
    expect(bins[0]!.shares.reduce((x, y) => x + y, 0)).toBeCloseTo(1, 12);
    const stable = Array.from({ length: 1000 }, (_, k) => [gauss(k * 3 + 1), gauss(k * 3 + 2) * 3]);
    const shifted = stable.map(([a, b]) => [a! + 2, b!]);
    const wf = { mean_net_bps: 8, sharpe_per_trade: 0.25 };
    const ok = monitorLiveModel(wf, [], undefined, undefined, { bins, rows: stable });
    expect(ok.checks[0]).toMatchObject({ rule: 'feature_drift', breached: false });
    expect(ok.checks[0]!.value).toBeLessThan(0.1);
    const drifted = monitorLiveModel(wf, [], undefined, undefined, { bins, rows: shifted });
    expect(drifted.breach).toMatchObject({ rule: 'feature_drift', bound: 0.25 });
    expect(drifted.breach!.detail).toMatch(/largest PSI \d+\.\d+ \(a\) over 1000 live minutes; 1 of 2 inputs above 0.25/);
    // Fewer than 720 live minutes: not judged yet.
    expect(monitorLiveModel(wf, [], undefined, undefined, { bins, rows: shifted.slice(0, 100) }).checks).toEqual([]);
  });

  test('the monitor says nothing before 20 trades, and a healthy stream breaches nothing', async () => {
    const { monitorLiveModel } = await import('@engine/training');
    const wf = { mean_net_bps: 8, sharpe_per_trade: 0.25 };
    expect(monitorLiveModel(wf, Array.from({ length: 19 }, () => ({ net_bps: -50, predicted_bps: 10 }))).checks).toEqual([]);
    const healthy = Array.from({ length: 60 }, (_, k) => ({ net_bps: 8 + ((k * 13) % 41) - 20, predicted_bps: 10 }));
    const rep = monitorLiveModel(wf, healthy);
    expect(rep.checks.map((x) => [x.rule, x.breached])).toEqual([
      ['live_edge', false],
      ['live_sharpe', false],
      ['live_drawdown', false],
    ]);
    expect(rep.buckets).toHaveLength(4);
    // Trade rate: 4 a day validated; 60 trades in 3 live days (λ = 12) is far off, 12 is not.
    const rate = monitorLiveModel({ ...wf, trades_per_day: 4 }, healthy, undefined, 3);
    expect(rate.breach).toMatchObject({ rule: 'live_trade_rate', value: 60, bound: 12 });
    expect(monitorLiveModel({ ...wf, trades_per_day: 20 }, healthy, undefined, 3).checks.find((x) => x.rule === 'live_trade_rate')!.breached).toBe(false);
    // … and judged before min_trades too: no trades in 5 days where 20 were expected.
    expect(monitorLiveModel({ ...wf, trades_per_day: 4 }, [], undefined, 5).breach).toMatchObject({ rule: 'live_trade_rate', value: 0, bound: 20 });
    // Triple penance: (1.645·σ)²/(4μ) with σ = μ/SR = 32 bps: 1.645²·1024/32 = 86.6 bps.
    expect(rep.checks[2]!.bound).toBeCloseTo((1.645 * 32) ** 2 / 32, 9);
  });
});
