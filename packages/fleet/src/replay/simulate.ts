import { openBundle, Trader, type LiveModel } from '@engine/consumer';
import { DAY_MS, MINUTE_MS, parseUtcDay, type CandleSeries } from '@engine/shared';
import type { ArtifactStore, Registry } from '@engine/registry';
import { liveFrom, retrainDates, type ReplayRequest } from './plan';
import type { ReplayStep } from './context';
import { WARMUP_HISTORY_DAYS } from '../train-job';


/** One closed trade of a replay book. */
export interface ReplayTrade {
  modelId: string;
  entryTs: number;
  exitTs: number;
  netBps: number;
  predictedBps: number;
  exitReason: string;
}

/** A stretch of minutes traded with one model (or none). */
export interface Segment {
  /** First decision time (epoch ms), inclusive. */
  from: number;
  /** Exclusive. */
  to: number;
  modelId: string | null;
}

/**
 * Which model a book trades at each minute: the factory's book follows the replay
 * registry's live pointer as each run left it; the gates-off book trades every day's new
 * model whatever its verdict. A model takes over at its run's live time (midnight + the
 * live delay); before the first one there is none.
 */
export function timeline(req: Pick<ReplayRequest, 'from' | 'to' | 'retrainEveryDays' | 'liveDelayMinutes'>, steps: readonly ReplayStep[], book: 'factory' | 'gates_off'): Segment[] {
  const byDate = new Map(steps.map((s) => [s.runDate, s]));
  const dates = retrainDates(req);
  const end = parseUtcDay(req.to);
  const out: Segment[] = [{ from: parseUtcDay(req.from), to: Math.min(end, liveFrom(req, dates[0]!)), modelId: null }];
  let current: string | null = null;
  dates.forEach((d, k) => {
    const s = byDate.get(d);
    if (book === 'factory') current = s ? s.liveModelId : current;
    else current = s?.modelId ?? null; // a failed day: gates-off has nothing new and nothing old
    const from = Math.min(end, liveFrom(req, d));
    const to = k + 1 < dates.length ? Math.min(end, liveFrom(req, dates[k + 1]!)) : end;
    if (to > from) out.push({ from, to, modelId: current });
  });
  return out.filter((s) => s.to > s.from);
}

/**
 * Trade the candles with the consumer library's own `Trader` (features, barriers, decider,
 * expiry: Hamilton's code) following `segments`: at each candle the model of the segment
 * holding its decision time, none (stand aside, exits still followed) where there is none.
 * Models are opened once, on their own run's clock (a model is never "expired" at load; the
 * trader refuses entries once a candle's decision time passes its `expires_at`).
 */
export async function tradeBook(opts: {
  symbol: string;
  candles: CandleSeries;
  reference: CandleSeries;
  /** Decisions from here (epoch ms): earlier candles only warm the features. */
  start: number;
  end: number;
  segments: readonly Segment[];
  open: (modelId: string) => Promise<LiveModel>;
}): Promise<{ trades: ReplayTrade[]; decisions: number; openAtEnd: boolean; modelMinutes: Map<string, number> }> {
  const models = new Map<string, LiveModel>();
  for (const s of opts.segments) if (s.modelId !== null && !models.has(s.modelId)) models.set(s.modelId, await opts.open(s.modelId));
  let current: LiveModel | null = null;
  const trader = new Trader({ symbol: opts.symbol, model: { current: () => current }, noModel: 'stand_aside' });
  const c = opts.candles;
  const r = opts.reference;
  if (r.ts.length !== c.ts.length || (c.ts.length > 0 && r.ts[0] !== c.ts[0])) throw new Error(`${opts.symbol}: reference candles are not on the symbol's grid`);
  const trades: ReplayTrade[] = [];
  const modelMinutes = new Map<string, number>();
  let seg = 0;
  let decisions = 0;
  for (let i = 0; i < c.ts.length; i++) {
    const ts = c.ts[i]!;
    if (ts >= opts.end) break;
    const candle = { ts, open: c.open[i]!, high: c.high[i]!, low: c.low[i]!, close: c.close[i]!, volume: c.volume[i]!, gap: c.gap[i]! };
    const ref = { ts, open: r.open[i]!, high: r.high[i]!, low: r.low[i]!, close: r.close[i]!, volume: r.volume[i]!, gap: r.gap[i]! };
    const decisionTs = ts + MINUTE_MS;
    if (decisionTs <= opts.start) {
      current = null;
      trader.onCandleSync(candle, ref);
      continue;
    }
    while (seg < opts.segments.length && decisionTs >= opts.segments[seg]!.to) seg++;
    const s = opts.segments[seg];
    current = s !== undefined && decisionTs >= s.from && s.modelId !== null ? models.get(s.modelId)! : null;
    if (current !== null) modelMinutes.set(current.modelId, (modelMinutes.get(current.modelId) ?? 0) + 1);
    const d = trader.onCandleSync(candle, ref);
    decisions++;
    if (d.exit && d.exit.exit_reason !== 'unfilled') {
      trades.push({ modelId: d.exit.model_id, entryTs: d.exit.entry_ts, exitTs: d.exit.exit_ts, netBps: d.exit.net_bps, predictedBps: d.exit.predicted_bps, exitReason: d.exit.exit_reason });
    }
  }
  return { trades, decisions, openAtEnd: trader.position() !== null, modelMinutes };
}

/** Open a replay model from its namespace's store: the bundle as its run decided it, hash-verified, golden-checked. */
export async function modelOpener(registry: Registry, store: ArtifactStore, req: Pick<ReplayRequest, 'liveDelayMinutes'>): Promise<(modelId: string) => Promise<LiveModel>> {
  const cache = new Map<string, Promise<LiveModel>>();
  return (modelId) => {
    let p = cache.get(modelId);
    if (p === undefined) {
      p = openOne(modelId);
      cache.set(modelId, p);
    }
    return p;
  };
  async function openOne(modelId: string): Promise<LiveModel> {
    const rec = await registry.getModel(modelId);
    if (rec === null) throw new Error(`replay model ${modelId} is not in the replay registry`);
    const bundle = await store.get(rec.location);
    const at = liveFrom(req, rec.runDate);
    // rejected models are opened for the gates-off book and the shadow book
    return openBundle(bundle, { origin: `replay:${modelId}`, allowRejected: true, now: () => at });
  }
}

/** The span of candles a symbol's books need: the features' warm-up days (as a training job loads) before `from`, to `to`. */
export function candleSpan(req: Pick<ReplayRequest, 'from' | 'to'>): { start: number; end: number } {
  return { start: parseUtcDay(req.from) - WARMUP_HISTORY_DAYS * DAY_MS, end: parseUtcDay(req.to) };
}
