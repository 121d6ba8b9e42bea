import { DAY_MS, type CandleSeries } from '@engine/shared';
import type { CostModel } from '@engine/model';
import { type TradeMetrics, tradeDay, tradeMetrics } from '../metrics/trade-metrics';
import type { SimTrade } from '../simulation/simulate';

/** Stress scenarios re-run on the out-of-sample trades (SPEC §1.6). */
export interface ScenarioConfig {
  /** Fee, spread and slippage multiplied by this. Default 2. */
  cost_multiplier: number;
  /** Spread multiplied by this. Default 2. */
  spread_multiplier: number;
  /** Share of out-of-sample days, most volatile first, in the volatility scenario. Default 0.1. */
  volatile_fraction: number;
}

export const DEFAULT_SCENARIOS: ScenarioConfig = { cost_multiplier: 2, spread_multiplier: 2, volatile_fraction: 0.1 };

export interface ScenarioResult {
  name: string;
  description: string;
  total_trades: number;
  wins: number;
  win_rate: number;
  total_profit_gbp: number;
  mean_net_bps: number;
  sharpe_ratio: number;
  profit_factor: number | null;
  max_drawdown: number;
  days: number;
  /** Informational: the scenario still makes money (Sharpe > 0). Scenarios do not gate publishing. */
  profitable: boolean;
}

function summary(name: string, description: string, m: TradeMetrics): ScenarioResult {
  return {
    name,
    description,
    total_trades: m.total_trades,
    wins: m.wins,
    win_rate: m.win_rate,
    total_profit_gbp: m.total_profit_gbp,
    mean_net_bps: m.mean_net_bps,
    sharpe_ratio: m.sharpe_ratio,
    profit_factor: m.profit_factor,
    max_drawdown: m.max_drawdown,
    days: m.days,
    profitable: m.sharpe_ratio > 0 && m.total_profit_gbp > 0,
  };
}

/** Re-price trades with each cost component scaled (entries and exits unchanged: the model and barriers are). */
export function repriceTrades(trades: readonly SimTrade[], feeMul: number, spreadMul: number, slipMul: number): SimTrade[] {
  return trades.map((t) => {
    const fee = t.fee_bps * feeMul;
    const spread = t.spread_bps * spreadMul;
    const slip = t.slippage_bps * slipMul;
    return { ...t, fee_bps: fee, spread_bps: spread, slippage_bps: slip, net_bps: t.gross_bps - fee - spread - slip - (t.funding_bps ?? 0) };
  });
}

/** Realised volatility (std of 1-minute returns) of each UTC day in `days`; NaN for days without two returns. */
export function dailyVolatility(candles: CandleSeries, days: readonly number[]): Map<number, number> {
  const sums = new Map<number, { n: number; s: number; s2: number }>();
  for (const d of days) sums.set(d, { n: 0, s: 0, s2: 0 });
  const { ts, close } = candles;
  for (let i = 1; i < ts.length; i++) {
    const r = close[i]! / close[i - 1]! - 1;
    if (!Number.isFinite(r)) continue;
    const acc = sums.get(Math.floor(ts[i]! / DAY_MS) * DAY_MS);
    if (!acc) continue;
    acc.n++;
    acc.s += r;
    acc.s2 += r * r;
  }
  const out = new Map<number, number>();
  for (const [d, a] of sums) {
    out.set(d, a.n >= 2 ? Math.sqrt(Math.max(0, (a.s2 - (a.s * a.s) / a.n) / (a.n - 1))) : NaN);
  }
  return out;
}

/**
 * The scenario tests: costs × k, spread × k, and the most volatile share of the
 * out-of-sample days (trades and days restricted to them).
 */
export function runScenarios(
  trades: readonly SimTrade[],
  days: readonly number[],
  costs: CostModel,
  volByDay: Map<number, number>,
  cfg: ScenarioConfig,
): ScenarioResult[] {
  const k = cfg.cost_multiplier;
  const s = cfg.spread_multiplier;
  const out: ScenarioResult[] = [
    summary(`costs_x${k}`, `fee, spread and slippage × ${k} on the same trades`, tradeMetrics(repriceTrades(trades, k, k, k), days, costs)),
    summary(`spread_x${s}`, `spread × ${s} on the same trades`, tradeMetrics(repriceTrades(trades, 1, s, 1), days, costs)),
  ];
  const ranked = days.filter((d) => Number.isFinite(volByDay.get(d) ?? NaN)).sort((a, b) => volByDay.get(b)! - volByDay.get(a)!);
  const take = Math.max(1, Math.ceil(ranked.length * cfg.volatile_fraction));
  const hot = new Set(ranked.slice(0, take));
  const hotDays = days.filter((d) => hot.has(d));
  const hotTrades = trades.filter((t) => hot.has(tradeDay(t)));
  out.push(
    summary(
      'volatile_days',
      `the ${hotDays.length} most volatile out-of-sample days (top ${(cfg.volatile_fraction * 100).toFixed(0)}% by realised 1-minute volatility)`,
      tradeMetrics(hotTrades, hotDays, costs),
    ),
  );
  return out;
}
