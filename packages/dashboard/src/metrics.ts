import type { Queue } from 'bullmq';
import { Gauge, Registry } from 'prom-client';
import type { Registry as ModelRegistry } from '@engine/registry';
import { mergeExpositions } from '@engine/fleet';

/**
 * The dashboard's `/metrics` (issue 19, item 1): what the registry says now — live model age
 * per symbol (from its run date's midnight, the time its training window ended), models
 * recorded by verdict — and every catalog queue's BullMQ gauges. Computed at each scrape;
 * labels are symbols and verdicts only.
 */
export class DashboardMetrics {
  private readonly registry = new Registry();
  private readonly liveAge: Gauge<'symbol'>;
  private readonly liveCount: Gauge;
  private readonly demotedCount: Gauge;
  private readonly recorded: Gauge<'verdict'>;

  constructor(
    private readonly models: ModelRegistry,
    private readonly queues: readonly Queue[],
    private readonly now: () => number,
  ) {
    this.registry.setDefaultLabels({ role: 'dashboard' });
    const r = [this.registry];
    this.liveAge = new Gauge({ name: 'engine_live_model_age_seconds', help: "Age of each symbol's live model: now − its run date (00:00 UTC).", labelNames: ['symbol'], registers: r });
    this.liveCount = new Gauge({ name: 'engine_live_models', help: 'Symbols with a live model (demoted ones included).', registers: r });
    this.demotedCount = new Gauge({ name: 'engine_live_models_demoted', help: 'Symbols whose live model live monitoring demoted (no model to trade).', registers: r });
    this.recorded = new Gauge({ name: 'engine_models_recorded', help: 'Models in the registry (newest 10,000), by verdict.', labelNames: ['verdict'], registers: r });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  async render(): Promise<string> {
    const now = this.now();
    const [lives, models] = await Promise.all([this.models.liveModels(), this.models.listModels({ limit: 10_000 })]);
    this.liveAge.reset();
    for (const l of lives) this.liveAge.set({ symbol: l.symbol }, Math.max(0, (now - Date.parse(`${l.runDate}T00:00:00Z`)) / 1000));
    this.liveCount.set(lives.length);
    this.demotedCount.set(lives.filter((l) => l.demoted !== null).length);
    this.recorded.reset();
    for (const v of ['published', 'rejected'] as const) this.recorded.set({ verdict: v }, models.filter((m) => m.verdict === v).length);
    const queues = await Promise.all(this.queues.map((q) => q.exportPrometheusMetrics({ role: 'dashboard' })));
    return mergeExpositions([await this.registry.metrics(), ...queues]);
  }
}
