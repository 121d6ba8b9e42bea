import { formatUtcDay, type Logger } from '@engine/shared';
import { feedbackPath, liveRecordSchema, type LiveRecord } from '@engine/model';
import type { RegistryContext } from '@engine/registry';
import { DEFAULT_LIVE_MONITOR, monitorLiveModel, type FeatureBins, type LiveMonitorSettings, type MonitorReport } from '@engine/training';

/** What one ingest-and-monitor pass did, per live symbol. */
export interface LiveMonitorOutcome {
  symbol: string;
  modelId: string;
  /** New records appended (a file read twice adds nothing the second time). */
  ingested: { trades: number; decisions: number };
  /** Lines that were not a live decision or trade (skipped, counted). */
  badLines: number;
  report: MonitorReport;
  /** Set when this pass demoted the model. */
  demoted: boolean;
}

/**
 * The live loop (issue 19, items 3–5) for every live, not yet demoted model: read the live
 * traders' JSON lines of the last `days` UTC days from the publish target
 * (`feedback/BASE-QUOTE/YYYY-MM-DD.jsonl`), append them to the registry (idempotent), judge
 * the model's live trades against its walk-forward record (`monitorLiveModel`), and on a
 * breach demote it — a `demoted` event with the rule, value and bound — and rewrite the
 * symbol's `latest.json` at once so consumers stop entering with it. Run by the sync worker
 * after each sweep.
 */
export async function ingestAndMonitor(
  ctx: Pick<RegistryContext, 'registry' | 'publisher' | 'sync'>,
  opts: { actor: string; now?: number; days?: number; settings?: LiveMonitorSettings; log?: Logger },
): Promise<LiveMonitorOutcome[]> {
  const now = opts.now ?? Date.now();
  const days = opts.days ?? 3;
  const out: LiveMonitorOutcome[] = [];
  for (const live of await ctx.registry.liveModels()) {
    if (live.demoted !== null) continue;
    const records: LiveRecord[] = [];
    let badLines = 0;
    for (let k = days - 1; k >= 0; k--) {
      const day = formatUtcDay(now - k * 86_400_000);
      const bytes = await ctx.publisher.files.download(feedbackPath(ctx.publisher.root, live.symbol, day));
      if (bytes === null) continue;
      for (const line of Buffer.from(bytes).toString('utf8').split('\n')) {
        if (line.trim() === '') continue;
        let value: unknown;
        try {
          value = JSON.parse(line);
        } catch {
          badLines++;
          continue;
        }
        const r = liveRecordSchema.safeParse(value);
        if (!r.success || r.data.symbol !== live.symbol) badLines++;
        else records.push(r.data);
      }
    }
    const ingested = records.length > 0 ? await ctx.registry.recordLiveFeedback(records) : { trades: 0, decisions: 0 };
    const model = await ctx.registry.getModel(live.modelId);
    const metrics = (model?.manifest as { metrics?: { mean_net_bps?: number; sharpe_per_trade?: number; total_trades?: number; days?: number } } | undefined)?.metrics;
    const span = await ctx.registry.liveDecisionSpan(live.modelId);
    const bins = (model?.manifest as { feature_bins?: { features: FeatureBins[] } } | undefined)?.feature_bins?.features;
    const report = monitorLiveModel(
      {
        mean_net_bps: metrics?.mean_net_bps ?? 0,
        sharpe_per_trade: metrics?.sharpe_per_trade ?? 0,
        ...(metrics?.total_trades !== undefined && metrics.days !== undefined && metrics.days > 0 ? { trades_per_day: metrics.total_trades / metrics.days } : {}),
      },
      await ctx.registry.liveTrades(live.modelId),
      opts.settings ?? DEFAULT_LIVE_MONITOR,
      span === null ? undefined : (span.last - span.first) / 86_400_000,
      bins ? { bins, rows: await ctx.registry.liveDecisionFeatures(live.modelId) } : undefined,
    );
    await ctx.registry.recordMonitoring({ modelId: live.modelId, symbol: live.symbol, at: new Date(now).toISOString(), trades: report.trades, breach: report.breach?.rule ?? null, report });
    let demoted = false;
    if (report.breach !== null) {
      const b = report.breach;
      demoted = await ctx.registry.demote(live.symbol, live.modelId, { at: new Date(now).toISOString(), rule: b.rule, value: b.value, bound: b.bound, detail: b.detail }, { actor: opts.actor });
      if (demoted) {
        opts.log?.warn({ symbol: live.symbol, modelId: live.modelId, rule: b.rule, value: b.value, bound: b.bound }, `live model demoted: ${b.detail}`);
        await ctx.sync.syncPointer(live.symbol).catch((err: unknown) => opts.log?.error({ symbol: live.symbol, err: (err as Error).message }, 'latest.json of a demoted model not written yet; the next sweep retries'));
      }
    }
    if (badLines > 0) opts.log?.warn({ symbol: live.symbol, badLines }, 'live feedback lines skipped: not a live decision or trade of this symbol');
    out.push({ symbol: live.symbol, modelId: live.modelId, ingested, badLines, report, demoted });
  }
  return out;
}
