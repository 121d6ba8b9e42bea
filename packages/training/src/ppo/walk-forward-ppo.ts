import { type CandleSeries, DAY_MS, deriveSeed } from '@engine/shared';
import type { TripleBarrierLabels } from '@engine/model';
import type { PpoAgent } from '@engine/ppo';
import type { SimTrade } from '../simulation/simulate';
import type { ThresholdChoice, ThresholdConfig } from '../threshold/select-threshold';
import type { Fold } from '../walk-forward/folds';
import type { TrainConfig } from '../pipeline/config';
import { type AgentInit, type AgentJob, type AgentResult, agentOf, tapeOf, trainAgents } from './agent-jobs';
import { type PolicySegment, tradePolicySegments } from './trading-env';

/** One fold's agent: how its training went and how its greedy policy did on its calibration slice. */
export interface PpoFoldAgent {
  fold: number;
  agent: PpoAgent;
  result: AgentResult;
}

/** The `ppo` family's walk-forward: out-of-sample trades and the agents. */
export interface PpoWalkForward {
  /** The greedy policies' out-of-sample trades, every fold's test window, Hamilton's rules. */
  trades: SimTrade[];
  /** Per evaluated fold: its agent's calibration record (no threshold: `source: policy`). */
  choices: Map<number, ThresholdChoice>;
  /** The pooled out-of-sample record that decides whether the final agent trades at all. */
  finalChoice: ThresholdChoice;
  folds: Map<number, PpoFoldAgent>;
  finalAgent: PpoAgent;
  final: AgentResult;
  /** Agent seeds: fold index → seed; the final agent's under -1. */
  seeds: Map<number, number>;
}

/** The rows of `rows` whose whole trade (signal to exit) lies at or before bar `last`. */
function enterable(rows: Int32Array, labels: TripleBarrierLabels, last: number): Int32Array {
  return rows.filter((r) => !Number.isNaN(labels.net_edge_bps[r]!) && labels.exit_index[r]! <= last);
}

/** The policy record of greedy trades over a span, judged by the threshold rule's floor and minimum trades. */
function policyChoice(trades: readonly SimTrade[], cfg: ThresholdConfig, start: number, end: number, rows: number): ThresholdChoice {
  let total = 0;
  for (const t of trades) total += t.net_bps;
  const floor = cfg.min_calibration_net_bps;
  const enough = trades.length >= cfg.min_trades;
  const trade = floor === null || (enough && total > floor);
  const rule = trade ? 'policy_profitable' : enough ? 'policy_unprofitable' : 'policy_too_few_trades';
  return { threshold_bps: 0, source: 'policy', calibration_start: start, calibration_end: end, calibration_rows: rows, trade, trades: trades.length, total_net_bps: total, rule, candidates: [] };
}

/**
 * The `ppo` family's walk-forward, exactly like the trees': one agent per evaluated fold,
 * trained on the fold's purged training window (an environment over its bars, entries only
 * at its training rows whose trade ends inside the window); the fold trades only when its
 * greedy policy made money on the calibration slice (the last `calibration_days` of its
 * training window: in-sample for the agent, the same floor and minimum trades as a
 * threshold); the greedy policies trade the test windows with one decider; the final agent
 * is trained on the whole window, and trades only when the pooled out-of-sample trades
 * made money. Each agent's seed derives from `family.ppo.seed` and its fold. The first
 * fold's agent trains from scratch (`total_steps`); the others and the final agent start from
 * it (its window precedes every test window) and train `fine_tune_steps` more.
 */
export async function walkForwardPpo(a: {
  candles: CandleSeries;
  labels: TripleBarrierLabels;
  /** Labelled rows of the whole window, ascending. */
  allRows: Int32Array;
  evaluated: readonly Fold[];
  columns: Float64Array[];
  names: string[];
  cfg: TrainConfig;
  threads: number;
  onAgent: (fold: number | null, r: AgentResult) => void;
  signal?: AbortSignal;
}): Promise<PpoWalkForward> {
  const { candles, labels, cfg } = a;
  const ppo = cfg.family.ppo;
  const init: AgentInit = {
    ts: candles.ts,
    open: candles.open,
    close: candles.close,
    labels,
    columns: a.columns,
    names: a.names,
    costs: cfg.costs,
    rules: cfg.trading,
    horizonMinutes: cfg.labels.horizon_minutes,
  };
  const jobs: AgentJob[] = [];
  const foldOfJob = new Map<number, number | null>();
  const seeds = new Map<number, number>();
  const job = (fold: number | null, rows: Int32Array, steps: number): AgentJob => {
    const last = rows[rows.length - 1]!;
    const seed = deriveSeed(ppo.seed, fold === null ? 0 : fold + 1);
    seeds.set(fold ?? -1, seed);
    foldOfJob.set(jobs.length, fold);
    const j: AgentJob = { id: jobs.length, first: rows[0]!, last, allowed: enterable(rows, labels, last), statsRows: rows, seed, totalSteps: steps, rewardScale: ppo.reward_scale, params: ppo.params, init: null };
    jobs.push(j);
    return j;
  };
  // The first fold's agent learns from scratch on the earliest window, which ends before
  // every test window; every later fold's agent and the final one start from it and are
  // fine-tuned on their own window (in parallel), so none sees a bar of its test window.
  const firstJob = job(a.evaluated[0]!.index, a.evaluated[0]!.train_rows, ppo.total_steps);
  for (const f of a.evaluated.slice(1)) job(f.index, f.train_rows, ppo.fine_tune_steps);
  job(null, a.allRows, ppo.fine_tune_steps);
  const results = await trainAgents(init, [firstJob], a.threads, (r) => a.onAgent(foldOfJob.get(r.id)!, r), a.signal);
  const base = results.get(firstJob.id)!.networks;
  const rest = jobs.slice(1).map((j) => ({ ...j, init: base }));
  for (const [id, r] of await trainAgents(init, rest, a.threads, (r) => a.onAgent(foldOfJob.get(r.id)!, r), a.signal)) results.set(id, r);

  const tape = tapeOf(init);
  const ts = candles.ts;
  const t0 = ts[0]!;
  const bar = (ms: number): number => Math.round((ms - t0) / 60_000);
  const folds = new Map<number, PpoFoldAgent>();
  const choices = new Map<number, ThresholdChoice>();
  const segments: PolicySegment[] = [];
  a.evaluated.forEach((f, k) => {
    const result = results.get(k)!;
    const agent = agentOf(result);
    folds.set(f.index, { fold: f.index, agent, result });
    const j = jobs[k]!;
    // the calibration slice: the training window's last calibration_days, entries only where the trade ends inside it
    const calStart = Math.max(f.train_start, f.train_end - cfg.threshold.calibration_days * DAY_MS);
    const calFirst = Math.max(j.first, bar(calStart));
    const calAllowed = j.allowed.filter((r) => r >= calFirst);
    const mask = new Uint8Array(ts.length);
    for (const r of calAllowed) mask[r] = 1;
    const cal = calAllowed.length > 0 ? tradePolicySegments(tape, [{ fold: f.index, first: calFirst, last: j.last, agent }], mask) : [];
    const choice = policyChoice(cal, cfg.threshold, calStart, f.train_end, calAllowed.length);
    choices.set(f.index, choice);
    if (choice.trade && f.test_rows.length > 0) segments.push({ fold: f.index, first: f.test_rows[0]!, last: f.test_rows[f.test_rows.length - 1]!, agent });
  });
  const testMask = new Uint8Array(ts.length);
  for (const f of a.evaluated) for (const r of f.test_rows) testMask[r] = 1;
  const trades = tradePolicySegments(tape, segments, testMask);
  const final = results.get(jobs.length - 1)!;
  const oosRows = a.evaluated.reduce((s, f) => s + f.test_rows.length, 0);
  const finalChoice = policyChoice(trades, cfg.threshold, a.evaluated[0]!.test_start, a.evaluated[a.evaluated.length - 1]!.test_end, oosRows);
  return { trades, choices, finalChoice, folds, finalAgent: agentOf(final), final, seeds };
}
