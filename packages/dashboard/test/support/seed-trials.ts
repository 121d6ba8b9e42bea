import { Mulberry32 } from '@engine/shared';
import type { ModelRecord, TrialLedger, TrialRecord } from '@engine/registry';
import { probabilisticSharpeRatio, sharpeMoments } from '@engine/training';

/** The trials pages' clock in tests: 2026-07-16, the day after the fixture's newest run. */
export const TRIALS_NOW = Date.UTC(2026, 6, 16, 9, 30);

/** Config hashes: A and B share their first 8 digits (an ambiguous prefix), C is a control, D is old, E never traded. */
export const HASHES = {
  a: `ab12cd34${'a'.repeat(56)}`,
  b: `ab12cd34${'b'.repeat(56)}`,
  control: 'c'.repeat(64),
  old: 'd'.repeat(64),
  flat: 'e'.repeat(64),
} as const;

/** Markup in free-text ledger fields: the page must show it as text. */
export const XSS_FAMILY = '<script>alert(1)</script>';
export const XSS_SOURCE = '<img src=x onerror=alert(1)>';

/** A model id the registry does not know (a sweep's evaluation records a trial but no model). */
export const SWEEP_MODEL_ID = '0b5e55ed-0000-4000-8000-000000000001';

/** `n` daily P&L values, normal-ish around `mean` (sd ≈ 1), from a seed. */
function dailyPnl(seed: number, n: number, mean: number): number[] {
  const rng = new Mulberry32(seed);
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(mean + (rng.next() + rng.next() + rng.next() - 1.5) * 2);
  return out;
}

/** A trial record whose Sharpe, moments and PSR(0) are those of its daily P&L, as the trainer writes them. */
export function trialOf(t: Omit<TrialRecord, 'oosDays' | 'sharpe' | 'skew' | 'kurtosis' | 'psr0'>): TrialRecord {
  const m = sharpeMoments(t.dailyPnl);
  const sharpe = Number.isFinite(m.sharpe) ? m.sharpe : null;
  return { ...t, oosDays: t.dailyPnl.length, sharpe, skew: m.skew, kurtosis: m.kurtosis, psr0: sharpe === null ? 0 : probabilisticSharpeRatio(sharpe, 0, m.n, m.skew, m.kurtosis) };
}

/**
 * BTC/USDT's ledger: configuration A on the two run dates of the fixture's BTC models (the
 * second is live), configuration B from a sweep (a model the registry never recorded, and
 * markup in its free-text fields), a control, a configuration that never traded (no
 * Sharpe), and one from March, outside the default 90-day window.
 */
export function btcTrials(models: { btcOld: ModelRecord; btcNew: ModelRecord }): TrialRecord[] {
  const base = { symbol: 'BTC/USDT', modelFamily: 'gbdt', seed: 6, isControl: false, details: {} };
  return [
    trialOf({ ...base, runDate: '2026-07-14', configHash: HASHES.a, modelId: models.btcOld.id, source: 'fleet', firstDay: '2026-05-01', dailyPnl: dailyPnl(1, 60, 0.35) }),
    trialOf({ ...base, runDate: '2026-07-15', configHash: HASHES.a, modelId: models.btcNew.id, source: 'fleet', firstDay: '2026-05-02', dailyPnl: dailyPnl(2, 60, 0.3) }),
    trialOf({ ...base, runDate: '2026-07-15', configHash: HASHES.b, modelFamily: XSS_FAMILY, modelId: SWEEP_MODEL_ID, source: XSS_SOURCE, firstDay: '2026-05-02', dailyPnl: dailyPnl(3, 60, -0.1) }),
    trialOf({ ...base, runDate: '2026-07-15', configHash: HASHES.control, isControl: true, modelId: null, source: 'sweep', firstDay: '2026-05-02', dailyPnl: dailyPnl(4, 60, 0.6) }),
    trialOf({ ...base, runDate: '2026-07-10', configHash: HASHES.flat, modelId: null, source: 'train', firstDay: '2026-04-27', dailyPnl: new Array<number>(60).fill(0) }),
    trialOf({ ...base, runDate: '2026-03-01', configHash: HASHES.old, modelId: null, source: 'train', firstDay: '2026-01-01', dailyPnl: dailyPnl(5, 50, 0.1) }),
  ];
}

/** Record BTC/USDT's trials in the fixture's ledger. */
export async function seedTrials(ledger: TrialLedger, models: { btcOld: ModelRecord; btcNew: ModelRecord }): Promise<TrialRecord[]> {
  const trials = btcTrials(models);
  for (const t of trials) await ledger.record(t);
  return trials;
}
