import { type FeatureBins, PSI_ALERT, populationStabilityIndex } from './feature-bins';

/**
 * Rules a live model is held to once its trades come back (issue 19, item 4). Each rule
 * compares what the live trades show with what the walk-forward promised, at a stated
 * confidence, and only after `min_trades` trades (fewer say nothing):
 *
 * - `live_edge`: the one-sided 95 % upper bound of the mean realised net bps per trade,
 *   mean + 1.645·sd/√n, must stay ≥ 0 — an edge that is significantly negative is gone;
 * - `live_sharpe`: the per-trade Sharpe of the live trades must stay above the walk-forward's
 *   per-trade Sharpe minus 2.326 standard errors, √((1 + SR²/2)/n) (Lo 2002; one-sided 99 %);
 * - `live_drawdown`: the live drawdown of cumulative net bps must stay within the
 *   triple-penance bound of the out-of-sample trades (Bailey & López de Prado 2014):
 *   (z·σ)² / (4·μ) with z = 1.645, μ the OOS mean net bps per trade and σ = μ / per-trade
 *   Sharpe (no bound when the OOS mean is not positive).
 *
 * - `live_trade_rate`: over the span the live trader reported decisions for (at least one
 *   day), the trades it made must lie within 3.29 √λ of λ, the count the walk-forward's
 *   trades per out-of-sample day predict (normal approximation of Poisson, two-sided
 *   99.9 %; judged once λ ≥ 5) — a model that trades far more or far less than validated
 *   is not the model that was validated.
 *
 * Also reported, never a demotion rule: realised against predicted net edge by prediction
 * quartile. Not here yet: feature drift (PSI), which needs the live feature rows.
 */
export interface LiveMonitorSettings {
  /** Trades before any rule judges. Default 20. */
  min_trades: number;
  /** z of the live-edge upper bound. Default 1.645 (one-sided 95 %). */
  edge_z: number;
  /** Standard errors below the walk-forward Sharpe. Default 2.326 (one-sided 99 %). */
  sharpe_z: number;
  /** z of the triple-penance drawdown bound. Default 1.645. */
  drawdown_z: number;
  /** Standard deviations the live trade count may stray from the expected. Default 3.29 (two-sided 99.9 %). */
  rate_z: number;
  /** Live decisions (minutes) with model inputs before feature drift is judged. Default 720 (half a day). */
  min_decisions: number;
  /** The PSI above which a feature has drifted. Default 0.25. */
  psi_alert: number;
}

export const DEFAULT_LIVE_MONITOR: LiveMonitorSettings = { min_trades: 20, edge_z: 1.645, sharpe_z: 2.326, drawdown_z: 1.645, rate_z: 3.29, min_decisions: 720, psi_alert: PSI_ALERT };

export interface MonitorCheck {
  rule: 'live_edge' | 'live_sharpe' | 'live_drawdown' | 'live_trade_rate' | 'feature_drift';
  value: number;
  bound: number;
  breached: boolean;
  detail: string;
}

export interface MonitorReport {
  trades: number;
  /** Empty while there are fewer than `min_trades` trades. */
  checks: MonitorCheck[];
  /** The first breached check (the demotion's reason), or null. */
  breach: MonitorCheck | null;
  /** Realised vs predicted mean net bps by prediction quartile (informational). */
  buckets: { from_bps: number; to_bps: number; trades: number; predicted_bps: number; realised_bps: number }[];
  /** PSI of every input, largest first, when drift was judged (absent otherwise). */
  drift?: { name: string; psi: number }[];
}

const mean = (x: readonly number[]) => x.reduce((a, b) => a + b, 0) / x.length;
const sd = (x: readonly number[]) => {
  const m = mean(x);
  return Math.sqrt(x.reduce((a, b) => a + (b - m) ** 2, 0) / (x.length - 1));
};
const f2 = (x: number) => x.toFixed(2);

/** Judge a live model's trades (oldest first) against its walk-forward record. */
export function monitorLiveModel(
  walkForward: { mean_net_bps: number; sharpe_per_trade: number; trades_per_day?: number },
  trades: readonly { net_bps: number; predicted_bps: number }[],
  settings: LiveMonitorSettings = DEFAULT_LIVE_MONITOR,
  /** Days the live trader reported decisions for (its span); absent: the trade rate is not judged. */
  liveDays?: number,
  /** The training deciles and the live model inputs (rows in feature order); absent: drift is not judged. */
  drift?: { bins: readonly FeatureBins[]; rows: readonly (readonly (number | null)[])[] },
): MonitorReport {
  const n = trades.length;
  const net = trades.map((t) => t.net_bps);
  const buckets = quartiles(trades);
  // The trade rate is judged from the first day, whatever the number of trades (too few is the point).
  const rateCheck = (): MonitorCheck | null => {
    const perDay = walkForward.trades_per_day;
    if (liveDays === undefined || perDay === undefined || !(liveDays >= 1)) return null;
    const lambda = perDay * liveDays;
    if (!(lambda >= 5)) return null;
    const z = (n - lambda) / Math.sqrt(lambda);
    return { rule: 'live_trade_rate', value: n, bound: lambda, breached: Math.abs(z) > settings.rate_z, detail: `${n} trades in ${f2(liveDays)} live days where the walk-forward's ${f2(perDay)} a day expect ${f2(lambda)} (z ${f2(z)}, bound ±${settings.rate_z})` };
  };
  let driftTable: { name: string; psi: number }[] | undefined;
  const driftCheck = (): MonitorCheck | null => {
    if (drift === undefined || drift.rows.length < settings.min_decisions || drift.bins.length === 0) return null;
    const psi = drift.bins.map((b, j) => ({ name: b.name, psi: populationStabilityIndex(b, drift.rows.map((r) => r[j] ?? null)) }));
    psi.sort((a, b) => b.psi - a.psi);
    driftTable = psi;
    const worst = psi[0]!;
    const over = psi.filter((p) => p.psi > settings.psi_alert);
    return {
      rule: 'feature_drift',
      value: worst.psi,
      bound: settings.psi_alert,
      breached: over.length > 0,
      detail: `largest PSI ${f2(worst.psi)} (${worst.name}) over ${drift.rows.length} live minutes; ${over.length} of ${psi.length} inputs above ${settings.psi_alert}${over.length > 0 ? `: ${over.slice(0, 5).map((p) => `${p.name} ${f2(p.psi)}`).join(', ')}` : ''}`,
    };
  };
  if (n < settings.min_trades || n < 2) {
    const early = [rateCheck(), driftCheck()].filter((c): c is MonitorCheck => c !== null);
    return { trades: n, checks: early, breach: early.find((c) => c.breached) ?? null, buckets, ...(driftTable ? { drift: driftTable } : {}) };
  }
  const m = mean(net);
  const s = sd(net);
  const checks: MonitorCheck[] = [];
  const upper = m + (settings.edge_z * s) / Math.sqrt(n);
  checks.push({ rule: 'live_edge', value: upper, bound: 0, breached: upper < 0, detail: `mean realised net ${f2(m)} bps over ${n} trades; its 95% upper bound ${f2(upper)} bps must stay ≥ 0` });
  const srWf = walkForward.sharpe_per_trade;
  const srLive = s > 0 ? m / s : 0;
  const se = Math.sqrt((1 + (srWf * srWf) / 2) / n);
  const srBound = srWf - settings.sharpe_z * se;
  checks.push({ rule: 'live_sharpe', value: srLive, bound: srBound, breached: srLive < srBound, detail: `per-trade Sharpe ${f2(srLive)} live vs ${f2(srWf)} walk-forward; bound ${f2(srBound)} (${settings.sharpe_z} SE)` });
  const mu = walkForward.mean_net_bps;
  if (mu > 0 && srWf > 0) {
    const sigma = mu / srWf;
    const bound = (settings.drawdown_z * sigma) ** 2 / (4 * mu);
    let peak = 0;
    let eq = 0;
    let dd = 0;
    for (const x of net) {
      eq += x;
      if (eq > peak) peak = eq;
      if (peak - eq > dd) dd = peak - eq;
    }
    checks.push({ rule: 'live_drawdown', value: dd, bound, breached: dd > bound, detail: `drawdown ${f2(dd)} bps vs the triple-penance bound ${f2(bound)} bps (μ ${f2(mu)}, σ ${f2(sigma)} bps per trade out of sample)` });
  }
  const r = rateCheck();
  if (r) checks.push(r);
  const d = driftCheck();
  if (d) checks.push(d);
  return { trades: n, checks, breach: checks.find((c) => c.breached) ?? null, buckets, ...(driftTable ? { drift: driftTable } : {}) };
}

function quartiles(trades: readonly { net_bps: number; predicted_bps: number }[]): MonitorReport['buckets'] {
  if (trades.length < 4) return [];
  const sorted = [...trades].sort((a, b) => a.predicted_bps - b.predicted_bps);
  const out: MonitorReport['buckets'] = [];
  for (let q = 0; q < 4; q++) {
    const part = sorted.slice(Math.floor((q * sorted.length) / 4), Math.floor(((q + 1) * sorted.length) / 4));
    if (part.length === 0) continue;
    out.push({ from_bps: part[0]!.predicted_bps, to_bps: part[part.length - 1]!.predicted_bps, trades: part.length, predicted_bps: mean(part.map((t) => t.predicted_bps)), realised_bps: mean(part.map((t) => t.net_bps)) });
  }
  return out;
}
