import type { Queue } from 'bullmq';
import { QUEUES, SCHEDULER_IDS } from '@engine/fleet';
import type { LiveModelRecord, ModelSummary, PublishEvent, Registry } from '@engine/registry';
import { listFailedJobs, queueCounts, type FailedJob } from './queues';
import { canonicalPair } from './views/format';

/** Where one symbol stands today. */
export interface SymbolStatus {
  symbol: string;
  /** The model Hamilton trades now, or null when none was ever published (or all rolled back). */
  live: LiveModelRecord | null;
  /** The newest model recorded for the symbol (published or rejected). */
  latest: ModelSummary | null;
  /** The newest failed training job of the symbol still in the train queue. */
  failure: FailedJob | null;
  /** The most recent run of the symbol and how it ended: a failed job newer than the latest model wins. */
  lastRun: { runDate: string; outcome: 'published' | 'rejected' | 'failed' } | null;
}

export interface FleetStatus {
  symbols: SymbolStatus[];
  /** Failed jobs of every queue, newest first. */
  failed: FailedJob[];
  /** Job counts per queue (empty without queues). */
  counts: { queue: string; counts: Record<string, number> }[];
  /** The newest publish-log entries of all symbols. */
  events: PublishEvent[];
  /** When the daily run fires next (epoch ms); null without queues or without a schedule. */
  nextRun: number | null;
  /** Workers connected to each queue now (BullMQ's client list): who is alive to take work. */
  workers: { queue: string; count: number; names: string[] }[];
}

/**
 * Gather the fleet page: every symbol of the universe plus any symbol the registry or the
 * train queue knows, with its live model, newest model and newest failed training job.
 */
export async function fleetStatus(registry: Registry, queues: readonly Queue[], universe: readonly string[]): Promise<FleetStatus> {
  const [models, lives, events] = await Promise.all([registry.listModels({ limit: 1000 }), registry.liveModels(), registry.events(undefined, 15)]);
  const failed = queues.length > 0 ? await listFailedJobs(queues, 100) : [];
  const counts = queues.length > 0 ? await queueCounts(queues) : [];
  const runQueue = queues.find((q) => q.name === QUEUES.run);
  const nextRun = runQueue ? ((await runQueue.getJobScheduler(SCHEDULER_IDS.daily))?.next ?? null) : null;
  const workers = await Promise.all(
    queues.map(async (q) => {
      const ws = await q.getWorkers();
      return { queue: q.name, count: ws.length, names: ws.map((w) => w.name).filter((n): n is string => typeof n === 'string' && n !== '').sort() };
    }),
  );

  const latest = new Map<string, ModelSummary>();
  for (const m of models) if (!latest.has(m.symbol)) latest.set(m.symbol, m); // newest first
  const live = new Map(lives.map((l) => [l.symbol, l]));
  const failure = new Map<string, FailedJob>();
  for (const f of failed) {
    // A job whose payload names no real pair (junk in Redis) is listed with the failed jobs, never as a symbol.
    const pair = canonicalPair(f.symbol);
    if (f.queue !== QUEUES.train || pair === null) continue;
    const prev = failure.get(pair);
    if (prev === undefined || (f.runDate ?? '') > (prev.runDate ?? '')) failure.set(pair, f);
  }

  const names = new Set<string>([...universe, ...latest.keys(), ...live.keys(), ...failure.keys()]);
  const symbols = [...names].sort().map((symbol): SymbolStatus => {
    const l = latest.get(symbol) ?? null;
    const f = failure.get(symbol) ?? null;
    let lastRun: SymbolStatus['lastRun'] = null;
    if (f !== null && f.runDate !== null && (l === null || f.runDate > l.runDate)) lastRun = { runDate: f.runDate, outcome: 'failed' };
    else if (l !== null) lastRun = { runDate: l.runDate, outcome: l.verdict };
    return { symbol, live: live.get(symbol) ?? null, latest: l, failure: f, lastRun };
  });
  return { symbols, failed, counts, events, nextRun, workers };
}
