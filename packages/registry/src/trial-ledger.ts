import { DataError, parsePair, parseUtcDay } from '@engine/shared';
import { checkSchema, DEFAULT_SCHEMA } from './migrations';
import type { Db, Queryable, Row } from './types';

/**
 * One evaluated configuration of one symbol and run date: what the deflated Sharpe ratio
 * and the fleet's false-discovery control count. Controls (a permuted target) are recorded
 * but never counted as trials.
 */
export interface TrialRecord {
  symbol: string;
  /** `YYYY-MM-DD` */
  runDate: string;
  /** SHA-256 of the resolved training configuration, the recipe hash, the cost model version and the model family. */
  configHash: string;
  modelFamily: string;
  seed: number | null;
  isControl: boolean;
  /** The model it produced, when it got that far. */
  modelId: string | null;
  /** `train` (engine train), `fleet` (a training job), `sweep`, `replay`. */
  source: string;
  /** Out-of-sample days T. */
  oosDays: number;
  /** Daily net P&L mean / sd (not annualised); null without variance. */
  sharpe: number | null;
  skew: number;
  /** Non-excess kurtosis. */
  kurtosis: number;
  /** PSR(0). */
  psr0: number;
  /** UTC day of `dailyPnl[0]`. */
  firstDay: string | null;
  /** Net P&L of every out-of-sample day, in order (GBP). */
  dailyPnl: number[];
  details?: Record<string, unknown>;
}

/** A recorded trial, with its sequence number and time. */
export interface StoredTrial extends TrialRecord {
  seq: number;
  recordedAt: string;
}

const iso = (v: unknown): string => new Date(v as string | number | Date).toISOString();
/** Dates are selected as text (`::text`): PGlite and pg return them alike. */
const day = (v: unknown): string => String(v).slice(0, 10);

function toTrial(r: Row): StoredTrial {
  return {
    seq: Number(r.seq),
    recordedAt: iso(r.recorded_at),
    symbol: String(r.symbol),
    runDate: day(r.run_date),
    configHash: String(r.config_hash),
    modelFamily: String(r.model_family),
    seed: r.seed === null ? null : Number(r.seed),
    isControl: Boolean(r.is_control),
    modelId: (r.model_id as string | null) ?? null,
    source: String(r.source),
    oosDays: Number(r.oos_days),
    sharpe: r.sharpe === null ? null : Number(r.sharpe),
    skew: Number(r.skew),
    kurtosis: Number(r.kurtosis),
    psr0: Number(r.psr0),
    firstDay: r.first_day === null ? null : day(r.first_day),
    dailyPnl: (r.daily_pnl as number[]) ?? [],
    details: (r.details as Record<string, unknown>) ?? {},
  };
}

/**
 * The trial ledger (registry migration 3): append-only by trigger, one row per (symbol,
 * run date, config hash) — re-running the same configuration adds nothing. The fleet's
 * training jobs, `engine train` and sweeps write it; the deflated-Sharpe gate reads it.
 */
export class TrialLedger {
  private readonly s: string;

  constructor(private readonly db: Db | Queryable, opts: { schema?: string } = {}) {
    this.s = `"${checkSchema(opts.schema ?? DEFAULT_SCHEMA)}"`;
  }

  /** Record a trial; false when this (symbol, run date, config hash) was already recorded. */
  async record(t: TrialRecord): Promise<boolean> {
    if (parsePair(t.symbol).symbol !== t.symbol) throw new DataError('TRIAL_INVALID', `trial symbol must be an upper-case pair, got '${t.symbol}'`);
    parseUtcDay(t.runDate, 'runDate');
    if (!/^[0-9a-f]{64}$/.test(t.configHash)) throw new DataError('TRIAL_INVALID', `trial config hash must be 64 hex digits, got '${t.configHash}'`);
    if (t.dailyPnl.length !== t.oosDays || t.dailyPnl.some((x) => !Number.isFinite(x))) {
      throw new DataError('TRIAL_INVALID', `trial of ${t.symbol} ${t.runDate}: ${t.dailyPnl.length} finite daily P&L values expected ${t.oosDays}`);
    }
    const rows = await this.db.query(
      `INSERT INTO ${this.s}.trials (symbol, run_date, config_hash, model_family, seed, is_control, model_id, source, oos_days, sharpe, skew, kurtosis, psr0, first_day, daily_pnl, details)
       VALUES ($1, $2::date, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14::date, $15::jsonb, $16::jsonb)
       ON CONFLICT (symbol, run_date, config_hash) DO NOTHING RETURNING seq`,
      [
        t.symbol,
        t.runDate,
        t.configHash,
        t.modelFamily,
        t.seed,
        t.isControl,
        t.modelId,
        t.source,
        t.oosDays,
        t.sharpe !== null && Number.isFinite(t.sharpe) ? t.sharpe : null,
        Number.isFinite(t.skew) ? t.skew : 0,
        Number.isFinite(t.kurtosis) ? t.kurtosis : 3,
        Number.isFinite(t.psr0) ? t.psr0 : 0,
        t.firstDay,
        JSON.stringify(t.dailyPnl),
        JSON.stringify(t.details ?? {}),
      ],
    );
    return rows.length > 0;
  }

  /**
   * The trials of `symbol` with a run date in [from, to] (inclusive, `YYYY-MM-DD`), oldest
   * first; controls only when asked for.
   */
  async list(symbol: string, opts: { from?: string; to?: string; includeControls?: boolean; limit?: number } = {}): Promise<StoredTrial[]> {
    const rows = await this.db.query(
      `SELECT seq, recorded_at, symbol, run_date::text AS run_date, config_hash, model_family, seed, is_control, model_id::text AS model_id, source, oos_days,
              sharpe, skew, kurtosis, psr0, first_day::text AS first_day, daily_pnl, details
       FROM ${this.s}.trials WHERE symbol = $1 AND ($2::date IS NULL OR run_date >= $2::date) AND ($3::date IS NULL OR run_date <= $3::date)
         AND ($4 OR NOT is_control) ORDER BY run_date, seq LIMIT $5`,
      [symbol, opts.from ?? null, opts.to ?? null, opts.includeControls ?? false, opts.limit ?? 100_000],
    );
    return rows.map(toTrial);
  }
}
