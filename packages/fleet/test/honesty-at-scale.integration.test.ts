import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Mulberry32, createLogger, loadConfig } from '@engine/shared';
import { openRegistryContext, stagingKey, type RegistryContext } from '@engine/registry';
import { DEFAULT_GATES, deflateByTrials, probabilisticSharpeRatio, sharpeMoments } from '@engine/training';
import { makeBundle } from '../../registry/test/support/bundles';
import { decideRun, ledgerLookback } from '../src';

/**
 * Honesty at scale (issue: every trial counted, item 7). Twenty symbols of a market with no
 * edge are each searched over ten configurations; every configuration is a trial in the real
 * ledger (PGlite). Each symbol's best configuration by Sharpe becomes its candidate, judged
 * by the deflated Sharpe gate at its true N (the ledger's lookback, exactly as a training job
 * reads it), and the run's false-discovery control (the real `decideRun`, the configured
 * method and q) decides what publishes. Five symbols with a planted edge run in the same
 * day: they must still publish (power).
 *
 * The no-edge P&L has zero mean before selection (no costs): the hardest case for a false
 * discovery, since any cost only pushes the Sharpes down. The first assertion shows the
 * test can fail: judged as if each best configuration were the only thing tried (PSR(0) ≥
 * 0.95, the old rule), the search manufactures several "edges" from noise.
 */

const RUN = '2026-07-17';
const FIRST_DAY = '2026-03-09';
/** Out-of-sample days of a 150-day window walked forward 20/5. */
const T = 130;
const CONFIGS = 10;

/** Standard normal draws (Box–Muller) from the project's seeded generator: the same market every time. */
function normal(seed: number): () => number {
  const u = new Mulberry32(seed);
  return () => Math.sqrt(-2 * Math.log(1 - u.next())) * Math.cos(2 * Math.PI * u.next());
}

/**
 * One symbol's ten configurations: daily net P&L (GBP) sharing a market factor (correlation
 * ≈ 0.3 between configurations, as horizons and cost tiers of one symbol are), with a daily
 * Sharpe of `edge` before noise.
 */
function searchedSymbol(seed: number, edge: number): number[][] {
  const z = normal(seed);
  const market = Array.from({ length: T }, () => z());
  return Array.from({ length: CONFIGS }, () => market.map((m) => 10 * (edge + Math.sqrt(0.3) * m + Math.sqrt(0.7) * z())));
}

const configHash = (c: number) => createHash('sha256').update(`honesty-at-scale config ${c}`).digest('hex');

describe('honesty at scale: 20 no-edge symbols × 10 configurations publish at most q × candidates; planted edges still publish', () => {
  let dir: string;
  let reg: RegistryContext;
  const log = createLogger({ level: 'silent' });
  const settings = loadConfig().falseDiscovery;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'engine-honesty-'));
    reg = await openRegistryContext(loadConfig({ ENGINE_DATA_DIR: dir }), { actor: 'test', logger: log });
  });
  afterAll(async () => {
    await reg?.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('the search is counted: DSR at the true N and the run’s false-discovery control', async () => {
    const symbols = [
      ...Array.from({ length: 20 }, (_, i) => ({ symbol: `N${String.fromCharCode(65 + i)}X/USDT`, edge: 0, seed: 1000 + i })),
      ...Array.from({ length: 5 }, (_, i) => ({ symbol: `E${String.fromCharCode(65 + i)}X/USDT`, edge: 0.4, seed: 2000 + i })),
    ];
    const judged: { symbol: string; edge: number; naive: boolean; n: number; dsr: number; ownGates: boolean; modelId: string }[] = [];
    for (const s of symbols) {
      const series = searchedSymbol(s.seed, s.edge);
      const moments = series.map((d) => sharpeMoments(d));
      const best = moments.reduce((b, m, i) => (m.sharpe > moments[b]!.sharpe ? i : b), 0);
      const bundle = makeBundle({ symbol: s.symbol, runDate: RUN, seed: s.seed });
      const modelId = bundle.manifest.model_id;
      for (let c = 0; c < CONFIGS; c++) {
        const m = moments[c]!;
        await reg.trials.record({
          symbol: s.symbol, runDate: RUN, configHash: configHash(c), modelFamily: 'gbdt', seed: c, isControl: false,
          modelId: c === best ? modelId : null, source: c === best ? 'fleet' : 'sweep', oosDays: T,
          sharpe: m.sharpe, skew: m.skew, kurtosis: m.kurtosis, psr0: probabilisticSharpeRatio(m.sharpe, 0, T, m.skew, m.kurtosis),
          firstDay: FIRST_DAY, dailyPnl: series[c]!,
        });
      }
      // The candidate is judged as a training job judges it: against the ledger's lookback.
      const m = moments[best]!;
      const d = deflateByTrials({ configHash: configHash(best), sharpe: m.sharpe, skew: m.skew, kurtosis: m.kurtosis, firstDay: FIRST_DAY, dailyPnl: series[best]! }, await ledgerLookback(reg.trials, s.symbol, RUN), RUN);
      const ownGates = d.dsr >= DEFAULT_GATES.min_deflated_sharpe;
      const naive = probabilisticSharpeRatio(m.sharpe, 0, T, m.skew, m.kurtosis) >= 0.95;
      // Held until the run decides, with its own gates' verdict (here: the deflated Sharpe gate).
      const held = makeBundle({ symbol: s.symbol, runDate: RUN, seed: s.seed, modelId, passed: ownGates });
      const ref = { modelId, symbol: s.symbol, runDate: RUN };
      await reg.store.put(stagingKey(ref), held);
      await reg.registry.recordModel(held, stagingKey(ref), { hold: true, actor: 'train@test' });
      judged.push({ symbol: s.symbol, edge: s.edge, naive, n: d.n, dsr: d.dsr, ownGates, modelId });
    }
    const decisions = await decideRun(RUN, reg, { settings, actor: 'scheduler', decidedBy: `run-${RUN}`, log });
    const published = new Set(decisions.filter((x) => x.verdict === 'published').map((x) => x.symbol));
    const candidates = decisions.filter((x) => x.candidate).length;

    const noEdge = judged.filter((j) => j.edge === 0);
    const planted = judged.filter((j) => j.edge > 0);
    const summary = {
      naive_passes: noEdge.filter((j) => j.naive).length,
      dsr_passes: noEdge.filter((j) => j.ownGates).length,
      candidates,
      published_no_edge: noEdge.filter((j) => published.has(j.symbol)).length,
      published_planted: planted.filter((j) => published.has(j.symbol)).length,
      method: settings.method,
      q: settings.q,
    };
    console.log(`honesty at scale: ${JSON.stringify(summary)}`);

    // Every trial counted: N is the ten configurations of the day.
    expect(new Set(judged.map((j) => j.n))).toEqual(new Set([CONFIGS]));
    // The test can fail: uncounted, the best of ten noise configurations looks like an edge.
    expect(summary.naive_passes).toBeGreaterThanOrEqual(3);
    // Counted, the no-edge market publishes no more than q × candidates.
    expect(summary.published_no_edge).toBeLessThanOrEqual(Math.floor(settings.q * candidates));
    // Power: every planted edge passes its deflated Sharpe at N = 10 and survives the adjustment.
    expect(planted.every((j) => j.ownGates)).toBe(true);
    expect(summary.published_planted).toBe(planted.length);
    // Nothing is left held; the registry's live models are exactly the published ones.
    expect(await reg.registry.heldModels(RUN)).toEqual([]);
    for (const j of judged) expect((await reg.registry.liveModel(j.symbol))?.modelId ?? null).toBe(published.has(j.symbol) ? j.modelId : null);
  });
});
