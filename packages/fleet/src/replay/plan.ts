import { createHash } from 'node:crypto';
import { ConfigError, DAY_MS, MINUTE_MS, formatUtcDay, parsePair, parseUtcDay } from '@engine/shared';
import { canonicalJson, ENGINE_VERSION, resolveTrainConfig, type TrainConfigOverrides } from '@engine/training';

/**
 * A replay of the factory through history (issue 18): for every retrain date d in
 * [from, to), every symbol's daily training job runs on the candles of [d − window, d), its
 * run decides (gates, false-discovery control) and publishes into a replay namespace of the
 * registry; then the consumer's `Trader` trades every minute of [from, to) with the model
 * that was live at that minute. Everything that changes a result is in the request, and
 * the request's hash is the replay's id: the same command resumes the same replay.
 */
export interface ReplayRequest {
  symbols: string[];
  /** First retrain date, `YYYY-MM-DD` (its training window ends at its midnight). */
  from: string;
  /** End of the replay, `YYYY-MM-DD`, exclusive: no retrain on it, trading stops at its midnight. */
  to: string;
  /** Days between retrain dates (1: daily, 7: weekly). */
  retrainEveryDays: number;
  /** Training window, days (the daily run's ENGINE_WINDOW_DAYS). */
  windowDays: number;
  /** `csv:DIR` or an exchange id. */
  source: string;
  /** Overrides of the training defaults, as `engine train --training`. */
  training: TrainConfigOverrides;
  /**
   * Minutes after its date's midnight a run's model goes live: the daily schedule's 02:00
   * UTC start plus training time. Before it the previous model (if still fresh) trades.
   */
  liveDelayMinutes: number;
  /** Hours a model stays fresh (`expires_at`); past it the trader only follows exits. */
  ttlHours: number;
}

/** The daily schedule starts at 02:00 UTC; a model is live by 02:00 + its training (counted as 0 here). */
export const DEFAULT_LIVE_DELAY_MINUTES = 120;

/** `1d`, `7d`, `3` … → days; anything else is a ConfigError naming the flag. */
export function parseRetrainEvery(text: string): number {
  const m = /^(\d+)d?$/.exec(text.trim());
  const n = m ? Number(m[1]) : Number.NaN;
  if (!Number.isInteger(n) || n < 1 || n > 365) throw new ConfigError(`--retrain-every must be a number of days such as 1d or 7d (1 to 365), got '${text}'`);
  return n;
}

/**
 * The request with its defaults filled in and every field checked. The default freshness
 * is one retrain interval plus a day: one late run is survivable, a missed one is not (a
 * weekly replay with the daily 48-hour TTL would stand aside five days a week).
 */
export function resolveReplayRequest(r: Omit<ReplayRequest, 'liveDelayMinutes' | 'ttlHours' | 'training'> & Partial<Pick<ReplayRequest, 'liveDelayMinutes' | 'ttlHours' | 'training'>>): ReplayRequest {
  if (r.symbols.length === 0) throw new ConfigError('--symbols needs at least one symbol');
  const symbols = [...new Set(r.symbols.map((s) => parsePair(s).symbol))].sort();
  const from = parseUtcDay(r.from, '--from');
  const to = parseUtcDay(r.to, '--to');
  if (to <= from) throw new ConfigError(`--to (${r.to}) must be after --from (${r.from})`);
  if (!Number.isInteger(r.retrainEveryDays) || r.retrainEveryDays < 1) throw new ConfigError(`the retrain interval must be a whole number of days ≥ 1, got ${r.retrainEveryDays}`);
  if (!Number.isInteger(r.windowDays) || r.windowDays < 1) throw new ConfigError(`--days must be a whole number ≥ 1, got ${r.windowDays}`);
  const training = r.training ?? {};
  resolveTrainConfig(training);
  const liveDelayMinutes = r.liveDelayMinutes ?? DEFAULT_LIVE_DELAY_MINUTES;
  if (!Number.isInteger(liveDelayMinutes) || liveDelayMinutes < 0 || liveDelayMinutes >= 24 * 60) throw new ConfigError(`the live delay must be whole minutes in [0, 1440), got ${liveDelayMinutes}`);
  const ttlHours = r.ttlHours ?? r.retrainEveryDays * 24 + 24;
  if (!(ttlHours > 0)) throw new ConfigError(`the model TTL must be > 0 hours, got ${ttlHours}`);
  return { symbols, from: formatUtcDay(from), to: formatUtcDay(to), retrainEveryDays: r.retrainEveryDays, windowDays: r.windowDays, source: r.source, training, liveDelayMinutes, ttlHours };
}

/**
 * The replay's id: 12 hex of the canonical hash of the request and of the training
 * configuration it resolves to (the defaults included, and the engine version), so the
 * same request is the same replay — and a resumed replay never mixes models trained under
 * other defaults.
 */
export function replayId(req: ReplayRequest): string {
  return createHash('sha256').update(canonicalJson({ req, resolved: resolveTrainConfig(req.training), engine: ENGINE_VERSION })).digest('hex').slice(0, 12);
}

/** The registry schema holding the replay's namespace (models, publish log, live pointers, trials). */
export function replaySchema(id: string): string {
  if (!/^[0-9a-f]{12}$/.test(id)) throw new ConfigError(`replay id '${id}' is not 12 hex digits`);
  return `engine_replay_${id}`;
}

/** The retrain dates: from, from + k days, … before `to`. */
export function retrainDates(req: Pick<ReplayRequest, 'from' | 'to' | 'retrainEveryDays'>): string[] {
  const out: string[] = [];
  const end = parseUtcDay(req.to);
  for (let t = parseUtcDay(req.from); t < end; t += req.retrainEveryDays * DAY_MS) out.push(formatUtcDay(t));
  return out;
}

/** When the model trained for `runDate` goes live (and is `created_at`): midnight + the live delay. */
export function liveFrom(req: Pick<ReplayRequest, 'liveDelayMinutes'>, runDate: string): number {
  return parseUtcDay(runDate) + req.liveDelayMinutes * MINUTE_MS;
}
