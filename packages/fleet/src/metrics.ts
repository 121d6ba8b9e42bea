import type { Job, Queue, Worker } from 'bullmq';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { SweepPointResult, TrainProgress, TrainResult } from './jobs';

/**
 * Prometheus metrics of one fleet process (issue 19, item 1), in the text format every
 * scraper reads: the process's own (prom-client's defaults, under `engine_`), the fleet's
 * (job durations by queue and by pipeline stage, verdicts, gate failures, worker liveness,
 * the schedule) and BullMQ's queue gauges (`Queue.exportPrometheusMetrics`). Label values
 * are queue names, stages, verdicts, gate names and symbols: never a payload, a URL or a
 * secret.
 */
export class FleetMetrics {
  readonly registry = new Registry();
  private readonly queues: Queue[] = [];
  readonly jobSeconds: Histogram<'queue' | 'outcome'>;
  readonly stageSeconds: Histogram<'stage'>;
  readonly models: Counter<'verdict'>;
  readonly gateFailures: Counter<'gate'>;
  readonly jobsFailed: Counter<'queue' | 'final'>;
  readonly activeJobs: Gauge<'queue'>;
  readonly lastCompleted: Gauge<'queue'>;
  readonly candleRequests: Counter<'source'>;
  readonly candleErrors: Counter<'code'>;
  readonly nextRun: Gauge;
  readonly lastRun: Gauge;
  /** Per active job: the stage it is in and since when (ms), to time stages from progress reports. */
  private readonly stages = new Map<string, { stage: string; since: number }>();

  constructor(readonly role: string) {
    this.registry.setDefaultLabels({ role });
    collectDefaultMetrics({ register: this.registry, prefix: 'engine_' });
    const r = [this.registry];
    new Gauge({ name: 'engine_up', help: 'The process is running (1).', registers: r }).set(1);
    this.jobSeconds = new Histogram({ name: 'engine_job_duration_seconds', help: 'Job run time from start to end, by queue and outcome.', labelNames: ['queue', 'outcome'], buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1800], registers: r });
    this.stageSeconds = new Histogram({ name: 'engine_train_stage_duration_seconds', help: 'Time a training job spent in each pipeline stage (from its progress reports).', labelNames: ['stage'], buckets: [0.1, 0.5, 1, 5, 15, 30, 60, 120, 300], registers: r });
    this.models = new Counter({ name: 'engine_models_total', help: 'Models trained by this process, by verdict (published or rejected).', labelNames: ['verdict'], registers: r });
    this.gateFailures = new Counter({ name: 'engine_gate_failures_total', help: 'Rejected models by the gate that failed (a model may fail several).', labelNames: ['gate'], registers: r });
    this.jobsFailed = new Counter({ name: 'engine_jobs_failed_total', help: 'Job attempts that failed, by queue; final: no attempt left (or a permanent failure).', labelNames: ['queue', 'final'], registers: r });
    this.activeJobs = new Gauge({ name: 'engine_worker_active_jobs', help: 'Jobs this worker is running now.', labelNames: ['queue'], registers: r });
    this.lastCompleted = new Gauge({ name: 'engine_worker_last_job_completed_timestamp_seconds', help: 'When this worker last completed a job (liveness: it takes work).', labelNames: ['queue'], registers: r });
    this.candleRequests = new Counter({ name: 'engine_candle_fetch_requests_total', help: 'HTTP requests the training jobs made for candles (0 from the cache or CSV files).', labelNames: ['source'], registers: r });
    this.candleErrors = new Counter({ name: 'engine_candle_fetch_errors_total', help: 'Training job attempts that failed while loading candles, by error code (transient: network or rate limit after retries).', labelNames: ['code'], registers: r });
    this.nextRun = new Gauge({ name: 'engine_schedule_next_run_timestamp_seconds', help: 'When the daily run fires next (scheduler).', registers: r });
    this.lastRun = new Gauge({ name: 'engine_schedule_last_run_timestamp_seconds', help: 'When the scheduler last started a run.', registers: r });
  }

  /** Export these queues' BullMQ gauges too (waiting, active, failed, … per queue). */
  addQueues(queues: readonly Queue[]): void {
    this.queues.push(...queues);
  }

  /** Count a training job's result: verdict, and each failed gate of a rejected model (a reason reads `gate: value op bound …`). */
  recordTrainResult(r: TrainResult | SweepPointResult): void {
    if ('sweepId' in r) return;
    this.models.inc({ verdict: r.verdict });
    if (r.verdict !== 'rejected') return;
    const gates = new Set(r.reasons.map((x) => /^([a-z_]+):/.exec(x)?.[1]).filter((g): g is string => g !== undefined));
    for (const gate of gates) this.gateFailures.inc({ gate });
  }

  /** Follow a BullMQ worker: job durations and outcomes, active jobs, liveness, and (training) stage times from progress. */
  watchWorker(worker: Worker, queue: string): void {
    worker.on('active', (job) => {
      this.activeJobs.inc({ queue });
      if (job.id !== undefined) this.stages.set(job.id, { stage: 'starting', since: Date.now() });
    });
    worker.on('progress', (job, progress) => {
      const p = progress as Partial<TrainProgress> | number;
      if (typeof p !== 'object' || p === null || typeof p.stage !== 'string' || job.id === undefined) return;
      if (typeof p.candle_requests === 'number') this.candleRequests.inc({ source: String((job.data as { source?: unknown }).source ?? 'unknown').replace(/^csv:.*/, 'csv') }, p.candle_requests);
      const cur = this.stages.get(job.id);
      const now = Date.now();
      if (cur && cur.stage !== p.stage) this.stageSeconds.observe({ stage: cur.stage }, (now - cur.since) / 1000);
      if (!cur || cur.stage !== p.stage) this.stages.set(job.id, { stage: p.stage, since: now });
    });
    worker.on('completed', (job, result) => {
      this.finish(job, queue, 'completed');
      this.lastCompleted.set({ queue }, Date.now() / 1000);
      if (queue === 'train' && result && typeof result === 'object') this.recordTrainResult(result as TrainResult | SweepPointResult);
    });
    worker.on('failed', (job, err) => {
      if (!job) return;
      const final = job.attemptsMade >= (job.opts.attempts ?? 1) || err.name === 'UnrecoverableError';
      // Failed while loading candles (the stage its progress last reported): a candle fetch error, by code.
      if (queue === 'train' && job.id !== undefined && this.stages.get(job.id)?.stage === 'candles') {
        this.candleErrors.inc({ code: /^\[([A-Z_]+)\]/.exec(err.message)?.[1] ?? 'transient' });
      }
      this.finish(job, queue, 'failed');
      this.jobsFailed.inc({ queue, final: String(final) });
    });
  }

  private finish(job: Job, queue: string, outcome: 'completed' | 'failed'): void {
    this.activeJobs.dec({ queue });
    if (job.processedOn !== undefined) this.jobSeconds.observe({ queue, outcome }, Math.max(0, (job.finishedOn ?? Date.now()) - job.processedOn) / 1000);
    if (job.id !== undefined) {
      const cur = this.stages.get(job.id);
      if (cur && outcome === 'completed') this.stageSeconds.observe({ stage: cur.stage }, (Date.now() - cur.since) / 1000);
      this.stages.delete(job.id);
    }
  }

  /** The scrape: this process's metrics, then each queue's BullMQ gauges. */
  async render(): Promise<string> {
    const own = await this.registry.metrics();
    const queues = await Promise.all(this.queues.map((q) => q.exportPrometheusMetrics({ role: this.role })));
    return mergeExpositions([own, ...queues]);
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

/**
 * Join Prometheus text expositions into one: each metric family's `# HELP` and `# TYPE`
 * once, then all its samples (BullMQ exports every queue with its own HELP lines, which a
 * scraper refuses to see twice).
 */
export function mergeExpositions(texts: readonly string[]): string {
  const families = new Map<string, { head: string[]; samples: string[] }>();
  const family = (name: string) => {
    let f = families.get(name);
    if (!f) families.set(name, (f = { head: [], samples: [] }));
    return f;
  };
  let current = '';
  for (const text of texts) {
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue;
      const meta = /^# (HELP|TYPE) (\S+)/.exec(line);
      if (meta) {
        current = meta[2]!;
        const f = family(current);
        if (!f.head.some((h) => h.startsWith(`# ${meta[1]} `))) f.head.push(line);
        continue;
      }
      if (line.startsWith('#')) continue;
      const name = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)?.[0] ?? current;
      // Histogram and summary samples (_bucket, _sum, _count) belong to the family above them.
      family(name.startsWith(current) ? current : name).samples.push(line);
    }
  }
  return `${[...families.values()].map((f) => [...f.head, ...f.samples].join('\n')).join('\n')}\n`;
}
