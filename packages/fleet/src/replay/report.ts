import { DAY_MS, formatUtcDay, parseUtcDay } from '@engine/shared';
import { maxDrawdown, resolveTrainConfig } from '@engine/training';
import type { ModelDetail } from '@engine/registry';
import type { ReplayRequest } from './plan';
import type { ReplayStep } from './context';
import type { ReplayTrade } from './simulate';

/** The books a replay keeps for every symbol (net bps of one notional per trade, by exit day). */
export const BOOKS = ['factory', 'gates_off', 'no_trading', 'buy_and_hold'] as const;
export type BookName = (typeof BOOKS)[number];

export interface BookSummary {
  trades: number;
  totalNetBps: number;
  /** null without trades */
  meanNetBps: number | null;
  winRate: number | null;
  maxDrawdownBps: number;
  /** Annualised Sharpe of the daily net bps (every day counted); null with no variance. */
  sharpe: number | null;
  /** Daily net bps, one per replay day. */
  daily: number[];
}

/** One model a replay trained: its gate-time estimate and what it realised. */
export interface ReplayModelRow {
  symbol: string;
  runDate: string;
  modelId: string;
  verdict: 'published' | 'rejected';
  failedGates: string[];
  /** Gate time: the walk-forward's out-of-sample trades, mean net bps, annualised Sharpe, per-trade sd. */
  gate: { trades: number; meanNetBps: number; sharpe: number; sdNetBps: number | null };
  /** Its trades as the live model (factory book): any day it was live. */
  live: { trades: number; meanNetBps: number | null; totalNetBps: number; days: number };
  /** Its trades in its own retrain interval, published or not (gates-off book: the shadow). */
  shadow: { trades: number; meanNetBps: number | null; totalNetBps: number };
}

export interface SymbolReport {
  symbol: string;
  books: Record<BookName, BookSummary>;
  models: ReplayModelRow[];
  failedDays: { runDate: string; error: string }[];
  openAtEnd: { factory: boolean; gates_off: boolean };
}

export interface ReplayReport {
  replayId: string;
  request: ReplayRequest;
  retrainDates: string[];
  /** Trading days, `YYYY-MM-DD`, [from, to). */
  days: string[];
  symbols: SymbolReport[];
  /** The symbols' books summed day by day. */
  fleet: Record<BookName, BookSummary>;
  /** Published models' gate-time mean net bps per trade vs realised while live: OLS slope through the models with live trades. */
  shrinkage: { models: number; slope: number | null; intercept: number | null; meanGateBps: number | null; meanLiveBps: number | null; ratio: number | null; sharpeSlope: number | null };
  /** Shadow P&L of published vs rejected models over their own retrain intervals. */
  gatePrecision: {
    published: { models: number; trades: number; totalNetBps: number; meanNetBps: number | null; profitableModels: number };
    rejected: { models: number; trades: number; totalNetBps: number; meanNetBps: number | null; profitableModels: number };
  };
  /** Every shadow trade by predicted edge (quintiles): mean predicted vs mean realised net bps. */
  calibration: { bucket: number; trades: number; meanPredictedBps: number; meanRealisedBps: number }[];
  /** Publications against what chance would give: each model's gates pass a no-edge model with probability ≤ α (the deflated-Sharpe bound's size). */
  publications: { evaluated: number; published: number; alpha: number; expectedByChance: number; upper95ByChance: number };
  /**
   * The planted-edge check: the published models' realised net bps per trade while live
   * against what their gates predicted (trade-weighted), with a z on both standard errors.
   * `consistent`: |z| < 2.58 (99%) — the realised edge lies within the stated interval.
   */
  edgeCheck: { gateMeanBps: number | null; gateSe: number | null; liveMeanBps: number | null; liveSe: number | null; liveTrades: number; z: number | null; consistent: boolean | null };
  seconds: { train: number; simulate: number };
}

const mean = (a: readonly number[]): number | null => (a.length === 0 ? null : a.reduce((s, v) => s + v, 0) / a.length);
function sd(a: readonly number[]): number | null {
  if (a.length < 2) return null;
  const m = mean(a)!;
  return Math.sqrt(a.reduce((s, v) => s + (v - m) ** 2, 0) / (a.length - 1));
}

/** The replay's trading days [from, to). */
export function replayDays(req: Pick<ReplayRequest, 'from' | 'to'>): string[] {
  const out: string[] = [];
  for (let t = parseUtcDay(req.from); t < parseUtcDay(req.to); t += DAY_MS) out.push(formatUtcDay(t));
  return out;
}

/** Daily net bps by exit day. */
export function dailyByExit(trades: readonly Pick<ReplayTrade, 'exitTs' | 'netBps'>[], days: readonly string[]): number[] {
  const start = parseUtcDay(days[0]!);
  const out = new Array<number>(days.length).fill(0);
  for (const t of trades) {
    const k = Math.floor((t.exitTs - 1 - start) / DAY_MS); // an exit at midnight closes the day before
    if (k >= 0 && k < out.length) out[k]! += t.netBps;
  }
  return out;
}

export function summariseBook(daily: number[], trades: readonly Pick<ReplayTrade, 'netBps'>[] | null): BookSummary {
  const nets = trades?.map((t) => t.netBps) ?? [];
  const s = sd(daily);
  const m = mean(daily);
  return {
    trades: nets.length,
    totalNetBps: daily.reduce((a, v) => a + v, 0),
    meanNetBps: mean(nets),
    winRate: nets.length === 0 ? null : nets.filter((v) => v > 0).length / nets.length,
    maxDrawdownBps: maxDrawdown(daily),
    sharpe: s !== null && s > 0 && m !== null ? (m / s) * Math.sqrt(365) : null,
    daily,
  };
}

/** Buy and hold one notional from the first trading minute: the close-to-close change, bps of the entry price, per day (no costs). */
export function buyAndHoldDaily(closeAtDayEnd: readonly number[], entryPrice: number): number[] {
  const out: number[] = [];
  let prev = entryPrice;
  for (const c of closeAtDayEnd) {
    const v = Number.isFinite(c) ? c : prev;
    out.push(((v - prev) / entryPrice) * 1e4);
    prev = v;
  }
  return out;
}

/** OLS slope and intercept of y on x; null with < 2 points or no spread in x. */
export function olsFit(x: readonly number[], y: readonly number[]): { slope: number; intercept: number } | null {
  if (x.length < 2) return null;
  const mx = mean(x)!;
  const my = mean(y)!;
  let sxx = 0;
  let sxy = 0;
  for (let i = 0; i < x.length; i++) {
    sxx += (x[i]! - mx) ** 2;
    sxy += (x[i]! - mx) * (y[i]! - my);
  }
  if (!(sxx > 0)) return null;
  const slope = sxy / sxx;
  return { slope, intercept: my - slope * mx };
}

/** Smallest k with P(Binomial(n, p) ≤ k) ≥ 0.95. */
export function binomialUpper95(n: number, p: number): number {
  let cdf = 0;
  let pmf = (1 - p) ** n;
  for (let k = 0; k <= n; k++) {
    cdf += pmf;
    if (cdf >= 0.95) return k;
    pmf = (pmf * (n - k) * p) / ((k + 1) * (1 - p));
  }
  return n;
}

/** Gate-time figures from the flattened manifest metrics; the per-trade sd is mean / per-trade Sharpe. */
function gateFigures(m: Readonly<Record<string, number>>): ReplayModelRow['gate'] {
  const trades = m.total_trades ?? 0;
  const meanNet = m.mean_net_bps ?? 0;
  const spt = m.sharpe_per_trade ?? 0;
  return { trades, meanNetBps: meanNet, sharpe: m.sharpe_ratio ?? 0, sdNetBps: trades > 1 && spt !== 0 ? Math.abs(meanNet / spt) : null };
}

/** One symbol's models: gate-time figures from their manifests, realised ones from the two books. */
export function modelRows(symbol: string, steps: readonly ReplayStep[], details: ReadonlyMap<string, ModelDetail>, factory: readonly ReplayTrade[], shadow: readonly ReplayTrade[], liveDays: ReadonlyMap<string, number>): ReplayModelRow[] {
  const rows: ReplayModelRow[] = [];
  for (const st of steps) {
    if (st.modelId === null) continue;
    const d = details.get(st.modelId);
    if (d === undefined) continue;
    const m = d.metrics; // the registry's flattened numeric metrics of the manifest
    const live = factory.filter((t) => t.modelId === st.modelId).map((t) => t.netBps);
    const sh = shadow.filter((t) => t.modelId === st.modelId).map((t) => t.netBps);
    rows.push({
      symbol,
      runDate: st.runDate,
      modelId: st.modelId,
      verdict: d.verdict,
      failedGates: d.gates.filter((g) => !g.passed).map((g) => g.name),
      gate: gateFigures(m),
      live: { trades: live.length, meanNetBps: mean(live), totalNetBps: live.reduce((a, v) => a + v, 0), days: liveDays.get(st.modelId) ?? 0 },
      shadow: { trades: sh.length, meanNetBps: mean(sh), totalNetBps: sh.reduce((a, v) => a + v, 0) },
    });
  }
  return rows;
}

/** The fleet-level statistics over every symbol's models and shadow trades. */
export function fleetStatistics(symbols: readonly SymbolReport[], shadowTrades: readonly ReplayTrade[], factoryTrades: readonly ReplayTrade[], training: ReplayRequest['training']): Pick<ReplayReport, 'shrinkage' | 'gatePrecision' | 'calibration' | 'publications' | 'edgeCheck'> {
  const models = symbols.flatMap((s) => s.models);
  const published = models.filter((m) => m.verdict === 'published');
  const withLive = published.filter((m) => m.live.trades > 0);
  const fit = olsFit(withLive.map((m) => m.gate.meanNetBps), withLive.map((m) => m.live.meanNetBps!));
  const withLiveDays = published.filter((m) => m.live.days > 0);
  const sharpeFit = olsFit(withLiveDays.map((m) => m.gate.sharpe), withLiveDays.map((m) => m.live.totalNetBps / Math.max(1, m.live.days)));
  const side = (ms: ReplayModelRow[]) => {
    const trades = ms.reduce((a, m) => a + m.shadow.trades, 0);
    const total = ms.reduce((a, m) => a + m.shadow.totalNetBps, 0);
    return { models: ms.length, trades, totalNetBps: total, meanNetBps: trades > 0 ? total / trades : null, profitableModels: ms.filter((m) => m.shadow.totalNetBps > 0).length };
  };
  // calibration: quintiles of predicted edge over every shadow trade
  const sorted = [...shadowTrades].filter((t) => Number.isFinite(t.predictedBps)).sort((a, b) => a.predictedBps - b.predictedBps);
  const calibration: ReplayReport['calibration'] = [];
  const buckets = Math.min(5, sorted.length);
  for (let b = 0; b < buckets; b++) {
    const part = sorted.slice(Math.floor((b * sorted.length) / buckets), Math.floor(((b + 1) * sorted.length) / buckets));
    if (part.length === 0) continue;
    calibration.push({ bucket: b + 1, trades: part.length, meanPredictedBps: mean(part.map((t) => t.predictedBps))!, meanRealisedBps: mean(part.map((t) => t.netBps))! });
  }
  const alpha = 1 - resolveTrainConfig(training).gates.min_deflated_sharpe;
  // the planted-edge check: trade-weighted gate-time mean and its SE vs the live trades
  const gTrades = withLive.reduce((a, m) => a + m.gate.trades, 0);
  const gateMean = gTrades > 0 ? withLive.reduce((a, m) => a + m.gate.meanNetBps * m.gate.trades, 0) / gTrades : null;
  const gateVar = gTrades > 0 ? withLive.reduce((a, m) => a + (m.gate.sdNetBps ?? 0) ** 2 * m.gate.trades, 0) / gTrades : null;
  const gateSe = gateVar !== null && gTrades > 0 ? Math.sqrt(gateVar / gTrades) : null;
  const liveIds = new Set(published.map((m) => m.modelId));
  const liveNets = factoryTrades.filter((t) => liveIds.has(t.modelId)).map((t) => t.netBps);
  const liveMean = mean(liveNets);
  const liveSd = sd(liveNets);
  const liveSe = liveSd !== null ? liveSd / Math.sqrt(liveNets.length) : null;
  const z = gateMean !== null && liveMean !== null && liveSe !== null && gateSe !== null && liveSe + gateSe > 0 ? (liveMean - gateMean) / Math.sqrt(liveSe ** 2 + gateSe ** 2) : null;
  return {
    shrinkage: {
      models: withLive.length,
      slope: fit?.slope ?? null,
      intercept: fit?.intercept ?? null,
      meanGateBps: mean(withLive.map((m) => m.gate.meanNetBps)),
      meanLiveBps: mean(withLive.map((m) => m.live.meanNetBps!)),
      // live bps/trade over gate-time bps/trade, both trade-weighted: the shrinkage without a spread of models to fit a slope on
      ratio: gateMean !== null && gateMean !== 0 && liveMean !== null ? liveMean / gateMean : null,
      sharpeSlope: sharpeFit?.slope ?? null,
    },
    gatePrecision: { published: side(published), rejected: side(models.filter((m) => m.verdict === 'rejected')) },
    calibration,
    publications: { evaluated: models.length, published: published.length, alpha, expectedByChance: alpha * models.length, upper95ByChance: binomialUpper95(models.length, alpha) },
    edgeCheck: { gateMeanBps: gateMean, gateSe, liveMeanBps: liveMean, liveSe, liveTrades: liveNets.length, z, consistent: z === null ? null : Math.abs(z) < 2.58 },
  };
}

/** The fleet's book: the symbols' daily series summed. */
export function fleetBooks(symbols: readonly SymbolReport[], days: number): Record<BookName, BookSummary> {
  const out = {} as Record<BookName, BookSummary>;
  for (const b of BOOKS) {
    const daily = new Array<number>(days).fill(0);
    let trades: { netBps: number }[] | null = [];
    for (const s of symbols) {
      s.books[b].daily.forEach((v, i) => (daily[i]! += v));
      if (b === 'buy_and_hold' || b === 'no_trading') trades = null;
    }
    const sum = summariseBook(daily, trades);
    if (b === 'factory' || b === 'gates_off') {
      const n = symbols.reduce((a, s) => a + s.books[b].trades, 0);
      const wins = symbols.reduce((a, s) => a + (s.books[b].winRate ?? 0) * s.books[b].trades, 0);
      sum.trades = n;
      sum.meanNetBps = n > 0 ? sum.totalNetBps / n : null;
      sum.winRate = n > 0 ? wins / n : null;
    }
    out[b] = sum;
  }
  return out;
}

const f = (x: number | null | undefined, d = 1): string => (x === null || x === undefined || !Number.isFinite(x) ? '—' : x.toFixed(d));

/** The replay as text: per symbol and fleet, the four books; then the statistics. */
export function formatReplayReport(r: ReplayReport): string {
  const q = r.request;
  const lines: string[] = [];
  lines.push(`replay ${r.replayId}: ${q.symbols.join(', ')} · ${q.from} → ${q.to} · retrain every ${q.retrainEveryDays} d (${r.retrainDates.length} dates) · window ${q.windowDays} d · live at +${q.liveDelayMinutes} min · TTL ${q.ttlHours} h`);
  const head = ['symbol', 'book', 'trades', 'net bps', 'bps/trade', 'win', 'max dd', 'Sharpe'];
  const rows: string[][] = [];
  const add = (sym: string, books: Record<BookName, BookSummary>) => {
    for (const b of BOOKS) {
      const s = books[b];
      rows.push([sym, b, b === 'factory' || b === 'gates_off' ? String(s.trades) : '—', f(s.totalNetBps, 0), f(s.meanNetBps), s.winRate === null ? '—' : s.winRate.toFixed(2), f(s.maxDrawdownBps, 0), f(s.sharpe, 2)]);
    }
  };
  for (const s of r.symbols) add(s.symbol, s.books);
  add('FLEET', r.fleet);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((x) => x[i]!.length)));
  const fmt = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  lines.push(fmt(head), ...rows.map(fmt), '');
  const p = r.publications;
  lines.push(`models: ${p.evaluated} trained, ${p.published} published; by chance (no edge anywhere, each gate pass a ≤ ${p.alpha.toFixed(2)} event): ${p.expectedByChance.toFixed(1)} expected, ≤ ${p.upper95ByChance} at 95%`);
  const g = r.gatePrecision;
  lines.push(`gate precision (shadow P&L over each model's own interval): published ${g.published.models} models, ${g.published.trades} trades, ${f(g.published.totalNetBps, 0)} bps (${f(g.published.meanNetBps)}/trade, ${g.published.profitableModels} profitable) · rejected ${g.rejected.models} models, ${g.rejected.trades} trades, ${f(g.rejected.totalNetBps, 0)} bps (${f(g.rejected.meanNetBps)}/trade, ${g.rejected.profitableModels} profitable)`);
  const s = r.shrinkage;
  lines.push(`shrinkage: ${s.models} published model(s) traded live; gate-time ${f(s.meanGateBps)} bps/trade → live ${f(s.meanLiveBps)} (model means); trade-weighted live/gate ${f(s.ratio, 2)}; slope over models ${f(s.slope, 2)}`);
  const e = r.edgeCheck;
  lines.push(`edge check: gate-time ${f(e.gateMeanBps)} ± ${f(e.gateSe)} bps/trade vs live ${f(e.liveMeanBps)} ± ${f(e.liveSe)} over ${e.liveTrades} trades: z ${f(e.z, 2)} (${e.consistent === null ? 'no live trades' : e.consistent ? 'consistent, |z| < 2.58' : 'NOT consistent'})`);
  if (r.calibration.length > 0) lines.push(`calibration (shadow trades by predicted edge): ${r.calibration.map((c) => `${f(c.meanPredictedBps)}→${f(c.meanRealisedBps)} (${c.trades})`).join(' · ')}`);
  for (const sym of r.symbols) for (const d of sym.failedDays) lines.push(`FAILED ${sym.symbol} ${d.runDate}: ${d.error}`);
  return `${lines.join('\n')}\n`;
}
