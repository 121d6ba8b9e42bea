import { MINUTE_MS } from '@engine/shared';
import { GbdtModel } from '@engine/gbdt';
import { applyHead, type Combiner, combinedScore, fitCombiner, foldEnsemble, type FoldMember, type LinearModel, type PortableModel, ScoreModel } from '@engine/ensemble';
import type { TripleBarrierLabels } from '@engine/model';
import type { SimSegment } from '../simulation/simulate';
import { selectThreshold, type ThresholdChoice } from '../threshold/select-threshold';
import { type Fold, purgeRows, type RowTimeline } from '../walk-forward/folds';
import { averageUniqueness } from '../walk-forward/uniqueness';
import type { TrainConfig } from './config';
import { type FitJob, type FitResult, FoldTrainerPool } from './fold-pool';
import { decodeFit, encodeFit, fitKey, type FitCache, type FitCacheStats } from './fit-cache';
import type { FitSpec, MemberModel } from './members';
import type { PpoWalkForward } from '../ppo/walk-forward-ppo';


/** Where a fold's calibration predictions come from (rows at the end of its training window). */
interface Calibration {
  rows: Int32Array;
  start: number;
  source: ThresholdChoice['source'];
  /** The inner model's job; null when the previous fold's out-of-sample predictions cover the slice. */
  job: number | null;
}

/** Every model fit of one symbol's run, and which fit serves what. */
export interface FitPlan {
  jobs: FitJob[];
  /** Evaluated fold index → its model's job. */
  foldJob: Map<number, number>;
  calibration: Map<number, Calibration>;
  finalJob: number;
  /** The confidence model's fit; null for an ensemble (its confidence is Platt's calibration of the combined score). */
  confidenceJob: number | null;
  /**
   * Evaluated fold index → its confidence model's fit (fitted on the fold's training rows,
   * predicting its test rows), when out-of-sample confidence was asked for (comparisons);
   * an ensemble's comes from each fold's combiner instead.
   */
  foldConfidenceJob: Map<number, number>;
  /** Member names of an ensemble's fits (null for single-model families). */
  members: string[] | null;
  /** The random forest's row share (the labels' average uniqueness unless configured); null when no forest is fitted. */
  rfRowFraction: number | null;
}

/** The edge fit of the configured family (a forest's row share already resolved). */
function edgeSpec(cfg: TrainConfig, rfRowFraction: number): FitSpec {
  const fam = cfg.family;
  const rf: FitSpec = { kind: 'trees', params: { ...fam.rf, baggingFraction: rfRowFraction } };
  const ridge: FitSpec = { kind: 'ridge', alphas: fam.linear.ridge_alphas, innerFolds: fam.linear.inner_folds };
  const gbdt: FitSpec = { kind: 'trees', params: cfg.model };
  switch (fam.name) {
    case 'gbdt':
      return gbdt;
    case 'rf':
      return rf;
    case 'linear':
      return ridge;
    case 'ppo':
      throw new Error('unreachable: the ppo family has no edge fit (walkForwardPpo trains agents)');
    case 'ensemble':
      return { kind: 'members', members: fam.ensemble.members.map((name) => ({ name, spec: name === 'gbdt' ? gbdt : name === 'rf' ? rf : ridge })) };
  }
}

/** The confidence fit: the logistic GBDT (gbdt, rf), the L2 logistic regression (linear), none (ensemble). */
function confidenceSpec(cfg: TrainConfig): FitSpec | null {
  const fam = cfg.family;
  if (fam.name === 'ensemble') return null;
  if (fam.name === 'linear') return { kind: 'logistic', cs: fam.linear.logistic_cs, innerFolds: fam.linear.inner_folds };
  return { kind: 'trees', params: cfg.confidence_model };
}

/**
 * Plan every fit: one model per evaluated fold; where the previous fold's out-of-sample
 * predictions do not cover this fold's calibration slice, an inner model fitted on the
 * training rows before it (purged); the final and the confidence model on all rows.
 */
export function planFits(folds: readonly Fold[], allRows: Int32Array, timeline: RowTimeline, embargoMinutes: number, cfg: TrainConfig, opts: { oosConfidence?: boolean } = {}): FitPlan {
  const ts = timeline.ts;
  const usesForest = cfg.family.name === 'rf' || (cfg.family.name === 'ensemble' && cfg.family.ensemble.members.includes('rf'));
  const rfRowFraction = usesForest ? (cfg.family.rf_row_fraction ?? Math.min(1, Math.max(1e-3, averageUniqueness(timeline, allRows)))) : null;
  const spec = edgeSpec(cfg, rfRowFraction ?? 1);
  const confSpec = confidenceSpec(cfg);
  const calibMs = Math.round(cfg.threshold.calibration_days * 1440) * MINUTE_MS;
  const jobs: FitJob[] = [];
  const foldJob = new Map<number, number>();
  const foldConfidenceJob = new Map<number, number>();
  const calibration = new Map<number, Calibration>();
  let prevEvaluated: Fold | null = null;
  for (const f of folds) {
    if (f.skipped) continue;
    foldJob.set(f.index, jobs.length);
    jobs.push({ id: jobs.length, rows: f.train_rows, spec, predict: f.test_rows, wantModel: false });
    if (opts.oosConfidence === true && confSpec !== null) {
      foldConfidenceJob.set(f.index, jobs.length);
      jobs.push({ id: jobs.length, rows: f.train_rows, spec: confSpec, predict: f.test_rows, wantModel: false });
    }
    const calStart = f.train_end - calibMs;
    const calRows = f.train_rows.filter((i) => ts[i]! >= calStart);
    if (prevEvaluated && prevEvaluated.test_start === calStart && prevEvaluated.test_end === f.train_end) {
      calibration.set(f.index, { rows: calRows, start: calStart, source: 'previous_fold_oos', job: null });
    } else {
      let blockEnd = f.train_end;
      for (const i of calRows) if (timeline.label_end[i]! > blockEnd) blockEnd = timeline.label_end[i]!;
      const before = f.train_rows.filter((i) => ts[i]! < calStart);
      const inner = purgeRows(before, timeline, calStart, blockEnd, f.train_end, f.train_end + embargoMinutes * MINUTE_MS).kept;
      calibration.set(f.index, { rows: calRows, start: calStart, source: 'inner_model', job: jobs.length });
      jobs.push({ id: jobs.length, rows: inner, spec, predict: calRows, wantModel: false });
    }
    prevEvaluated = f;
  }
  const finalJob = jobs.length;
  jobs.push({ id: finalJob, rows: allRows, spec, predict: new Int32Array(0), wantModel: true });
  let confidenceJob: number | null = null;
  if (confSpec !== null) {
    confidenceJob = jobs.length;
    jobs.push({ id: confidenceJob, rows: allRows, spec: confSpec, predict: new Int32Array(0), wantModel: true });
  }
  return { jobs, foldJob, foldConfidenceJob, calibration, finalJob, confidenceJob, members: spec.kind === 'members' ? spec.members.map((m) => m.name) : null, rfRowFraction };
}

/**
 * Run the plan's fits on `threads` worker threads (one single-threaded fit per thread);
 * `onFoldFitted(fold, rows)` after each fold model.
 */
export async function runFits(
  plan: FitPlan,
  data: { columns: Float64Array[]; target: Float64Array; names: string[]; ts: Float64Array; labelEnd: Float64Array },
  threads: number,
  onFoldFitted: (fold: number, rows: number, cached: boolean) => void,
  signal?: AbortSignal,
  cache?: { store: FitCache; trainer: string; stats: FitCacheStats },
): Promise<Map<number, FitResult>> {
  const foldOfJob = new Map([...plan.foldJob].map(([fold, job]) => [job, fold]));
  const results = new Map<number, FitResult>();
  // Fold and calibration fits are looked up by content address; final models always fit.
  const keys = new Map<number, string>();
  if (cache) {
    for (const job of plan.jobs) if (!job.wantModel) keys.set(job.id, fitKey(job, data, cache.trainer));
    const found = await cache.store.get([...keys.values()]);
    for (const job of plan.jobs) {
      const bytes = keys.has(job.id) ? found.get(keys.get(job.id)!) : undefined;
      if (bytes === undefined) continue;
      try {
        const r = decodeFit(bytes, job.predict.length);
        if (job.spec.kind === 'members' && r.members.length !== job.spec.members.length) continue;
        results.set(job.id, r);
      } catch {
        continue; // a corrupt entry: refit (and the put below keeps the first entry; the fit is used from memory)
      }
    }
    cache.stats.hits += results.size;
    for (const id of results.keys()) {
      const fold = foldOfJob.get(id);
      if (fold !== undefined) onFoldFitted(fold, plan.jobs[id]!.rows.length, true);
    }
  }
  const todo = plan.jobs.filter((j) => !results.has(j.id));
  if (cache) cache.stats.misses += todo.filter((j) => keys.has(j.id)).length;
  const pool = FoldTrainerPool.create(Math.min(threads, todo.length), data);
  try {
    const fitted = await pool.run(
      todo,
      (job) => {
        const fold = foldOfJob.get(job.id);
        if (fold !== undefined) onFoldFitted(fold, job.rows.length, false);
      },
      signal,
    );
    for (const [id, r] of fitted) results.set(id, r);
    if (cache) {
      const entries = new Map<string, Uint8Array>();
      for (const [id, r] of fitted) if (keys.has(id)) entries.set(keys.get(id)!, encodeFit(r));
      if (entries.size > 0) await cache.store.put(entries);
    }
    return results;
  } finally {
    await pool.close();
  }
}

/** An ensemble's combiners: one per evaluated fold (fitted on its calibration slice) and the final one. */
export interface EnsembleFits {
  members: string[];
  /** Evaluated fold index → the combiner its test window was predicted with. */
  folds: Map<number, Combiner>;
  /** The final model's combiner, fitted on the pooled out-of-sample member scores. */
  final: Combiner;
}

/** The walk-forward's out-of-sample result before simulation. */
export interface OutOfSample {
  /** Out-of-sample prediction per row (NaN outside the test windows). */
  predictions: Float64Array;
  /** Each evaluated fold's threshold, chosen on its calibration slice (training data). */
  choices: Map<number, ThresholdChoice>;
  /** What the simulation trades: each fold's test rows with its own model and threshold. */
  segments: SimSegment[];
  /** The threshold Hamilton gets: the same rule on the pooled out-of-sample predictions. */
  finalChoice: ThresholdChoice;
  /** The final edge and confidence models; null for a trading agent (`agents`). */
  finalModel: PortableModel | null;
  confidenceModel: PortableModel | null;
  /** The `ppo` family's agents (null for every other family). */
  agents: PpoWalkForward | null;
  /** The ensemble's combiners (null for single-model families). */
  ensemble: EnsembleFits | null;
  /** The random forest's row share, when a forest was fitted. */
  rfRowFraction: number | null;
  /**
   * Out-of-sample P(net edge > 0) per row (NaN outside the test windows, and everywhere when
   * out-of-sample confidence was not asked for and the family is not an ensemble).
   */
  confidence: Float64Array;
  /** The fitted final models by role (ensemble members; or the edge model and the confidence model). */
  finalMembers: { name: string; model: MemberModel }[];
}

const pick = (a: Float64Array, rows: Int32Array): Float64Array => Float64Array.from(rows, (i) => a[i]!);

/** A fitted linear model as a folded score model's linear term. */
function linearTerm(m: LinearModel): FoldMember & { kind: 'linear' } {
  const p = m.toPlain();
  return { name: 'linear', kind: 'linear', term: { means: p.means, inv_scales: p.scales.map((v) => 1 / v), coef: p.coef, missing_coef: p.missingCoef, intercept: p.intercept } };
}

/** The bundle's models of a single-model family: a GBDT as is, a linear model as a score model. */
function portable(m: MemberModel, output: 'predicted_edge_bps' | 'confidence'): PortableModel {
  if (m instanceof GbdtModel) return m;
  const { term } = linearTerm(m);
  return new ScoreModel({
    featureNames: m.featureNames,
    trees: null,
    linear: term,
    head: output === 'confidence' ? { link: 'logistic', output, scale: 1, offset: 0 } : { link: 'identity', output, scale: 1, offset: 0 },
    provenance: { family: 'linear', model: m.kind, penalty: m.penalty },
  });
}

/** Out-of-sample predictions, then each fold's threshold from its calibration slice, and the final threshold. */
export function outOfSample(plan: FitPlan, fits: Map<number, FitResult>, evaluated: readonly Fold[], labels: TripleBarrierLabels, ts: Float64Array, cfg: TrainConfig, target: Float64Array): OutOfSample {
  const predictions = new Float64Array(ts.length).fill(NaN);
  const K = plan.members?.length ?? 0;
  // an ensemble's member scores on every out-of-sample row
  const memberOos = Array.from({ length: K }, () => new Float64Array(ts.length).fill(NaN));
  for (const f of evaluated) {
    const fit = fits.get(plan.foldJob.get(f.index)!)!;
    for (let k = 0; k < K; k++) for (let r = 0; r < f.test_rows.length; r++) memberOos[k]![f.test_rows[r]!] = fit.members[k]![r]!;
  }
  const combiners = new Map<number, Combiner>();
  const kind = cfg.family.ensemble.combiner;
  /** A fold's edge predictions on its test rows (an ensemble's combined with the fold's combiner). */
  const foldPredictions = new Map<number, Float64Array>();
  const confidence = new Float64Array(ts.length).fill(NaN);
  const calPredictions = new Map<number, Float64Array>();
  for (const f of evaluated) {
    const cal = plan.calibration.get(f.index)!;
    const fit = fits.get(plan.foldJob.get(f.index)!)!;
    if (K === 0) {
      foldPredictions.set(f.index, fit.predictions);
      const cj = plan.foldConfidenceJob.get(f.index);
      if (cj !== undefined) {
        const p = fits.get(cj)!.predictions;
        for (let r = 0; r < f.test_rows.length; r++) confidence[f.test_rows[r]!] = p[r]!;
      }
      continue;
    }
    // the combiner sees only the calibration slice's out-of-fold member scores (training data of this fold)
    const calScores = cal.job === null ? memberOos.map((m) => pick(m, cal.rows)) : fits.get(cal.job)!.members;
    const c = fitCombiner({ members: plan.members!, scores: calScores, outcome: pick(target, cal.rows) }, kind);
    combiners.set(f.index, c);
    calPredictions.set(f.index, applyHead(c.edge, combinedScore(c, calScores), 'identity'));
    const s = combinedScore(c, fit.members);
    foldPredictions.set(f.index, applyHead(c.edge, s, 'identity'));
    const p = applyHead(c.confidence, s, 'logistic');
    for (let r = 0; r < f.test_rows.length; r++) confidence[f.test_rows[r]!] = p[r]!;
  }
  for (const f of evaluated) {
    const pred = foldPredictions.get(f.index)!;
    for (let r = 0; r < f.test_rows.length; r++) predictions[f.test_rows[r]!] = pred[r]!;
  }
  const choices = new Map<number, ThresholdChoice>();
  const segments: SimSegment[] = [];
  for (const f of evaluated) {
    const cal = plan.calibration.get(f.index)!;
    const calPred = calPredictions.get(f.index) ?? (cal.job === null ? pick(predictions, cal.rows) : fits.get(cal.job)!.predictions);
    const choice = selectThreshold(cal.rows, calPred, labels, ts, cfg.trading, cfg.threshold, { source: cal.source, start: cal.start, end: f.train_end });
    choices.set(f.index, choice);
    segments.push({ fold: f.index, threshold_bps: choice.threshold_bps, rows: f.test_rows, predicted_bps: foldPredictions.get(f.index)!, trade: choice.trade });
  }
  const oosRows = Int32Array.from(segments.flatMap((s) => Array.from(s.rows)));
  const final = fits.get(plan.finalJob)!;
  let finalModel: PortableModel;
  let confidenceModel: PortableModel;
  let ensemble: EnsembleFits | null = null;
  let finalMembers: { name: string; model: MemberModel }[];
  let finalOosPred = pick(predictions, oosRows);
  if (K > 0) {
    // the final combiner: the pooled out-of-fold member scores of every test window
    const pooled = memberOos.map((m) => pick(m, oosRows));
    const c = fitCombiner({ members: plan.members!, scores: pooled, outcome: pick(target, oosRows) }, kind);
    ensemble = { members: plan.members!, folds: combiners, final: c };
    finalOosPred = applyHead(c.edge, combinedScore(c, pooled), 'identity');
    const members: FoldMember[] = final.models!.map((m, k) => (m instanceof GbdtModel ? { name: plan.members![k]!, kind: 'trees', model: m } : { ...linearTerm(m), name: plan.members![k]! }));
    const folded = foldEnsemble(members, c, final.models![0]!.featureNames, { family: 'ensemble', rf_row_fraction: plan.rfRowFraction });
    finalModel = folded.edge;
    confidenceModel = folded.confidence;
    finalMembers = final.models!.map((model, k) => ({ name: plan.members![k]!, model }));
  } else {
    const conf = fits.get(plan.confidenceJob!)!.models![0]!;
    finalModel = portable(final.models![0]!, 'predicted_edge_bps');
    confidenceModel = portable(conf, 'confidence');
    finalMembers = [
      { name: 'edge', model: final.models![0]! },
      { name: 'confidence', model: conf },
    ];
  }
  const finalChoice = selectThreshold(oosRows, finalOosPred, labels, ts, cfg.trading, cfg.threshold, {
    source: 'pooled_oos',
    start: evaluated[0]!.test_start,
    end: evaluated[evaluated.length - 1]!.test_end,
  });
  return { predictions, confidence, choices, segments, finalChoice, finalModel, confidenceModel, agents: null, ensemble, rfRowFraction: plan.rfRowFraction, finalMembers };
}
