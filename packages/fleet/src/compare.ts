import { ConfigError } from '@engine/shared';
import {
  bootstrapMeanCI,
  MODEL_FAMILIES,
  type ModelFamily,
  neweyWestMean,
  pairedDifference,
  resolveTrainConfig,
  seedSd,
  type OutOfSampleEvaluation,
  type TrainConfigOverrides,
} from '@engine/training';
import type { SweepRow } from './sweep';

/**
 * A pre-registered comparison of model families (issue 17): every family is trained on the
 * same symbols, window and outer walk-forward folds (so the out-of-sample days are
 * identical), once per seed; each (family, seed) is a trial in the ledger. The decision
 * rule is fixed before anything runs: a challenger replaces the GBDT as the default only
 * when its fleet daily net P&L beats the GBDT's with a Newey–West t > {@link WIN_T} AND a
 * block-bootstrap 95% interval of the mean daily difference entirely above 0.
 */
export interface CompareRequest {
  families: ModelFamily[];
  /** Seeds per family (0 … seeds−1); a deterministic family (linear) runs once. */
  seeds: number;
  /** Training overrides every point starts from (e.g. labels); the family and seeds are set on top. */
  base?: TrainConfigOverrides;
}

/** The one-sided bar of the decision rule (5% two-sided). */
export const WIN_T = 1.96;

/** One point of the comparison: a family and a seed, as sweep overrides. */
export interface ComparePoint {
  family: ModelFamily;
  seed: number;
  training: TrainConfigOverrides;
}

/** Families whose training draws random numbers (a seed changes the model); linear does not. */
const SEEDED: Record<ModelFamily, boolean> = { gbdt: true, rf: true, linear: false, ensemble: true, ppo: true };

/** The comparison's points, every one checked by the training schema before anything runs. */
export function comparePoints(req: CompareRequest): ComparePoint[] {
  if (req.families.length === 0) throw new ConfigError('--families needs at least one family');
  for (const f of req.families) if (!MODEL_FAMILIES.includes(f)) throw new ConfigError(`unknown model family '${f}'; expected one of ${MODEL_FAMILIES.join(', ')}`);
  if (!req.families.includes('gbdt')) throw new ConfigError('a comparison is against the GBDT: --families must include gbdt');
  if (!Number.isInteger(req.seeds) || req.seeds < 1) throw new ConfigError(`--seeds must be a whole number ≥ 1, got ${req.seeds}`);
  const base = req.base ?? {};
  const points: ComparePoint[] = [];
  for (const family of req.families) {
    const n = SEEDED[family] ? req.seeds : 1;
    for (let seed = 0; seed < n; seed++) {
      const training: TrainConfigOverrides = {
        ...base,
        model: { ...(base.model ?? {}), seed },
        family: { ...(base.family ?? {}), name: family, rf: { ...(base.family?.rf ?? {}), seed }, ppo: { ...(base.family?.ppo ?? {}), seed } },
      };
      resolveTrainConfig(training);
      points.push({ family, seed, training });
    }
  }
  return points;
}

/** One family on one symbol (or the fleet: symbol `*`), over its seeds. */
export interface CompareRow {
  symbol: string;
  family: ModelFamily;
  seeds: number;
  oosDays: number;
  /** Mean over seeds of the trades and of the daily net bps (the seed-averaged book). */
  trades: number;
  meanDailyNetBps: number;
  totalNetBps: number;
  /** Runs (seeds; for the fleet, over every symbol) and how many of them passed the gates (before the ledger's deflated Sharpe and false-discovery controls). */
  runs: number;
  gatesPassed: number;
  /** Paired difference of the seed-averaged daily net bps against the GBDT's on the same days (null for the GBDT). */
  vsGbdt: { meanDiff: number; nwT: number; nwLags: number; ciLo: number; ciHi: number; days: number } | null;
  /** Out-of-sample rank IC (predicted vs realised net edge), Brier score and calibration slope of the confidence: seed means. */
  rankIc: number;
  brier: number | null;
  calibrationSlope: number | null;
  /** Seed-to-seed sd of the total net bps and of the rank IC (NaN with one seed). */
  seedSdTotalNetBps: number;
  seedSdRankIc: number;
}

export interface CompareReport {
  rows: CompareRow[];
  /** The pre-registered verdict for each challenger on the fleet's daily P&L. */
  verdicts: { family: ModelFamily; wins: boolean; reason: string }[];
}

const mean = (a: readonly number[]): number => (a.length === 0 ? NaN : a.reduce((s, v) => s + v, 0) / a.length);
const meanOrNull = (a: readonly (number | null)[]): number | null => {
  const v = a.filter((x): x is number => x !== null && Number.isFinite(x));
  return v.length === a.length && v.length > 0 ? mean(v) : null;
};

/** The seed-averaged daily series of a family's evaluations on one symbol. */
function seedAverage(evals: readonly OutOfSampleEvaluation[]): { days: number[]; values: Float64Array } {
  const days = evals[0]!.days;
  for (const e of evals) {
    if (e.days.length !== days.length || e.days.some((d, i) => d !== days[i])) throw new ConfigError('the seeds of one family were evaluated on different out-of-sample days; a comparison needs identical windows');
  }
  const values = new Float64Array(days.length);
  for (const e of evals) for (let i = 0; i < days.length; i++) values[i]! += e.daily_net_bps[i]! / evals.length;
  return { days, values };
}

function pairStats(a: { days: number[]; values: Float64Array }, g: { days: number[]; values: Float64Array }, seed: number): CompareRow['vsGbdt'] {
  const d = pairedDifference(a, g);
  if (d.onlyA > 0 || d.onlyB > 0) throw new ConfigError(`a family and the GBDT were evaluated on different out-of-sample days (${d.onlyA} and ${d.onlyB} unmatched); a comparison needs identical windows`);
  if (d.diff.length < 2) return null;
  const nw = neweyWestMean(d.diff);
  const ci = bootstrapMeanCI(d.diff, { seed, reps: 10_000 });
  return { meanDiff: nw.mean, nwT: nw.t, nwLags: nw.lags, ciLo: ci.lo, ciHi: ci.hi, days: d.diff.length };
}

/**
 * The comparison's table from the sweep rows of its points (each carrying its
 * evaluation): per symbol and for the fleet (the symbols' daily net bps summed day by day),
 * per family. Rows without an evaluation (a failed point) are refused: a comparison with a
 * missing seed is not the one registered.
 */
export function compareReport(rows: readonly SweepRow[], points: readonly ComparePoint[], opts: { bootstrapSeed?: number } = {}): CompareReport {
  const bySymbol = new Map<string, Map<ModelFamily, { evals: OutOfSampleEvaluation[]; rows: SweepRow[] }>>();
  for (const r of rows) {
    const p = points[r.point];
    if (p === undefined) throw new ConfigError(`sweep row for point ${r.point} has no comparison point`);
    if (r.evaluation === undefined) throw new ConfigError(`${r.symbol} point ${r.point} (${p.family}, seed ${p.seed}) carries no out-of-sample evaluation`);
    const fams = bySymbol.get(r.symbol) ?? new Map();
    bySymbol.set(r.symbol, fams);
    const cell = fams.get(p.family) ?? { evals: [], rows: [] };
    fams.set(p.family, cell);
    cell.evals.push(r.evaluation);
    cell.rows.push(r);
  }
  const seed = opts.bootstrapSeed ?? 17;
  const out: CompareRow[] = [];
  const fleet = new Map<ModelFamily, { days: number[]; values: Float64Array }>();
  const families = [...new Set(points.map((p) => p.family))];
  for (const [symbol, fams] of [...bySymbol].sort((a, b) => a[0].localeCompare(b[0]))) {
    const gbdt = fams.get('gbdt');
    const gAvg = gbdt ? seedAverage(gbdt.evals) : null;
    for (const family of families) {
      const cell = fams.get(family);
      if (!cell) continue;
      const avg = seedAverage(cell.evals);
      // the fleet's book: the symbols' daily net bps summed on each day
      const f = fleet.get(family);
      if (!f) fleet.set(family, { days: [...avg.days], values: Float64Array.from(avg.values) });
      else {
        const d = pairedDifference(avg, { days: f.days, values: new Float64Array(f.days.length) });
        if (d.onlyA > 0 || d.onlyB > 0) throw new ConfigError(`${symbol}: its out-of-sample days differ from the other symbols'; run the comparison on one window`);
        for (let i = 0; i < f.days.length; i++) f.values[i]! += avg.values[i]!;
      }
      const totals = cell.evals.map((e) => e.daily_net_bps.reduce((s, v) => s + v, 0));
      out.push({
        symbol,
        family,
        seeds: cell.evals.length,
        oosDays: avg.days.length,
        trades: mean(cell.rows.map((r) => r.trades)),
        meanDailyNetBps: mean(Array.from(avg.values)),
        totalNetBps: mean(totals),
        runs: cell.rows.length,
        gatesPassed: cell.rows.filter((r) => r.passed).length,
        vsGbdt: family === 'gbdt' || !gAvg ? null : pairStats(avg, gAvg, seed),
        // a trading agent (ppo) predicts no edge: no rank IC (NaN), shown as —
        rankIc: meanFinite(cell.evals.map((e) => e.rank_ic)),
        brier: meanOrNull(cell.evals.map((e) => e.brier)),
        calibrationSlope: meanOrNull(cell.evals.map((e) => e.calibration_slope)),
        seedSdTotalNetBps: seedSd(totals),
        seedSdRankIc: seedSd(cell.evals.map((e) => e.rank_ic).filter(Number.isFinite)),
      });
    }
  }
  const verdicts: CompareReport['verdicts'] = [];
  if (bySymbol.size > 0) {
    const g = fleet.get('gbdt')!;
    for (const family of families) {
      const f = fleet.get(family)!;
      const symRows = out.filter((r) => r.family === family);
      const vs = family === 'gbdt' ? null : pairStats(f, g, seed);
      out.push({
        symbol: '*',
        family,
        seeds: Math.max(...symRows.map((r) => r.seeds)),
        oosDays: f.days.length,
        trades: symRows.reduce((s, r) => s + r.trades, 0),
        meanDailyNetBps: mean(Array.from(f.values)),
        totalNetBps: symRows.reduce((s, r) => s + r.totalNetBps, 0),
        runs: symRows.reduce((s, r) => s + r.runs, 0),
        gatesPassed: symRows.reduce((s, r) => s + r.gatesPassed, 0),
        vsGbdt: vs,
        rankIc: meanFinite(symRows.map((r) => r.rankIc)),
        brier: meanOrNull(symRows.map((r) => r.brier)),
        calibrationSlope: meanOrNull(symRows.map((r) => r.calibrationSlope)),
        seedSdTotalNetBps: NaN,
        seedSdRankIc: NaN,
      });
      if (family === 'gbdt') continue;
      const wins = vs !== null && vs.nwT > WIN_T && vs.ciLo > 0;
      verdicts.push({
        family,
        wins,
        reason:
          vs === null
            ? 'fewer than 2 common out-of-sample days'
            : `fleet daily net bps ${vs.meanDiff >= 0 ? '+' : ''}${vs.meanDiff.toFixed(2)} vs gbdt over ${vs.days} days: Newey–West t ${Number.isFinite(vs.nwT) ? vs.nwT.toFixed(2) : '—'} (bar ${WIN_T}), bootstrap 95% [${vs.ciLo.toFixed(2)}, ${vs.ciHi.toFixed(2)}] (bar: above 0)`,
      });
    }
  }
  return { rows: out, verdicts };
}

/** The mean of the finite values; NaN when there is none. */
function meanFinite(values: number[]): number {
  const f = values.filter(Number.isFinite);
  return f.length > 0 ? mean(f) : Number.NaN;
}

const fmt = (x: number | null, d = 2): string => (x === null || !Number.isFinite(x) ? '—' : x.toFixed(d));

/** The comparison as a table, then the verdicts. */
export function formatCompareTable(r: CompareReport, meta: { sweepId: string; runDate: string; windowDays: number }): string {
  const head = ['symbol', 'family', 'seeds', 'days', 'trades', 'bps/day', 'total bps', 'gates', 'Δ vs gbdt bps/day', 'NW t', 'boot 95%', 'rank IC', 'Brier', 'cal slope', 'seed sd total', 'seed sd IC'];
  const rows = r.rows.map((x) => [
    x.symbol === '*' ? 'FLEET' : x.symbol,
    x.family,
    String(x.seeds),
    String(x.oosDays),
    fmt(x.trades, 0),
    fmt(x.meanDailyNetBps),
    fmt(x.totalNetBps, 0),
    `${x.gatesPassed}/${x.runs}`,
    x.vsGbdt ? fmt(x.vsGbdt.meanDiff) : '—',
    x.vsGbdt ? fmt(x.vsGbdt.nwT) : '—',
    x.vsGbdt ? `[${fmt(x.vsGbdt.ciLo)}, ${fmt(x.vsGbdt.ciHi)}]` : '—',
    fmt(x.rankIc, 4),
    fmt(x.brier, 4),
    fmt(x.calibrationSlope),
    fmt(x.seedSdTotalNetBps, 0),
    fmt(x.seedSdRankIc, 4),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  const out = [
    `compare ${meta.sweepId}: run date ${meta.runDate}, ${meta.windowDays} days, identical outer walk-forward windows for every family; net bps of one notional per trade`,
    line(head),
    ...rows.map(line),
    '',
    `decision rule (registered before the run): a challenger becomes the default only if its fleet daily net bps beat the GBDT's with Newey–West t > ${WIN_T} and a bootstrap 95% interval above 0`,
    ...r.verdicts.map((v) => `${v.family}: ${v.wins ? 'WINS' : 'does not win'}: ${v.reason}`),
  ];
  return `${out.join('\n')}\n`;
}
