import { createHash } from 'node:crypto';
import { type CandleSeries, DataError, MINUTE_MS, Mulberry32, parsePair, parseUtcDay } from '@engine/shared';
import { EXIT_NONE, EXIT_UNFILLED, type FundingSeries, findSpikes, maskRows, type Spike, type SpikeRule, type TripleBarrierLabels, tripleBarrierLabels } from '@engine/model';
import type { RowTimeline } from '../walk-forward/folds';
import type { TrainConfig } from './config';

const iso = (ms: number): string => new Date(ms).toISOString();

/** SHA-256 hex of typed arrays' bytes, in order. */
function hashColumns(arrays: ArrayBufferView[]): string {
  const h = createHash('sha256');
  for (const a of arrays) h.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  return h.digest('hex');
}

/** The candle hash recorded in the manifest (see its `candle_hash_method`). */
export function candleHash(c: CandleSeries): string {
  return hashColumns([c.ts, c.open, c.high, c.low, c.close, c.volume, c.gap]);
}

/** What the manifest records of the candles a model was trained on. */
export interface CandleSummary {
  /** The window's candles (the history before it not counted). */
  rows: number;
  /** The window's first minute. */
  start: number;
  /** Candles before the window that only warm the features up (none: absent). */
  history?: { start: number; rows: number };
  /** Exclusive: the open time after the last candle. */
  end: number;
  gapRows: number;
  hash: string;
  referenceHash: string | null;
}

/**
 * Check the candles of `symbol` for the run (a complete minute grid, equal columns, enough
 * history for one fold, nothing at or after the run date) and summarise them.
 */
export function checkCandles(symbol: string, runDate: string, candles: CandleSeries, reference: CandleSeries | undefined, cfg: TrainConfig, windowStart?: number): CandleSummary {
  const c = candles;
  const want = parsePair(symbol).symbol;
  if (parsePair(c.symbol).symbol !== want) {
    throw new DataError('CANDLES_SYMBOL_MISMATCH', `trainSymbol(${want}): candles are for ${c.symbol}`, { symbol: want, candles: c.symbol });
  }
  const n = c.ts.length;
  const needDays = cfg.walk_forward.train_days + cfg.walk_forward.test_days;
  if (n < needDays * 1440) {
    throw new DataError('HISTORY_TOO_SHORT', `${want}: ${n} candles (${(n / 1440).toFixed(2)} days) cannot hold one walk-forward fold of ${cfg.walk_forward.train_days} + ${cfg.walk_forward.test_days} days`, {
      symbol: want,
      rows: n,
    });
  }
  for (const [name, col] of [['open', c.open], ['high', c.high], ['low', c.low], ['close', c.close], ['volume', c.volume], ['gap', c.gap]] as const) {
    if (col.length !== n) throw new DataError('CANDLES_INVALID', `${want}: column ${name} has ${col.length} rows, ts has ${n}`, { symbol: want });
  }
  const t0 = c.ts[0]!;
  const runDay = parseUtcDay(runDate, 'runDate');
  if (c.ts[n - 1]! + MINUTE_MS > runDay) {
    throw new DataError('CANDLES_AFTER_RUN_DATE', `${want}: candles run to ${iso(c.ts[n - 1]! + MINUTE_MS)}, past the run date ${runDate}: a run on a day trains on [run_date − window, run_date) only`, {
      symbol: want,
      runDate,
    });
  }
  for (let i = 0; i < n; i++) {
    if (c.ts[i] !== t0 + i * MINUTE_MS) {
      throw new DataError('CANDLES_INVALID', `${want}: candle ${i} has ts ${iso(c.ts[i]!)}, expected ${iso(t0 + i * MINUTE_MS)} (a complete minute grid)`, { symbol: want, row: i });
    }
  }
  let from = 0;
  if (windowStart !== undefined && windowStart !== t0) {
    from = (windowStart - t0) / MINUTE_MS;
    if (!Number.isInteger(from) || from < 0 || from >= n) {
      throw new DataError('WINDOW_START_INVALID', `${want}: the window start ${iso(windowStart)} is not a minute of the candles [${iso(t0)}, ${iso(c.ts[n - 1]! + MINUTE_MS)})`, { symbol: want });
    }
    if (n - from < needDays * 1440) {
      throw new DataError('HISTORY_TOO_SHORT', `${want}: the window from ${iso(windowStart)} holds ${((n - from) / 1440).toFixed(2)} days, which cannot hold one walk-forward fold of ${cfg.walk_forward.train_days} + ${cfg.walk_forward.test_days} days`, { symbol: want, rows: n - from });
    }
  }
  let gapRows = 0;
  for (let i = from; i < n; i++) gapRows += c.gap[i]!;
  return {
    rows: n - from,
    start: t0 + from * MINUTE_MS,
    ...(from > 0 ? { history: { start: t0, rows: from } } : {}),
    end: c.ts[n - 1]! + MINUTE_MS,
    gapRows,
    hash: candleHash(c),
    referenceHash: reference ? candleHash(reference) : null,
  };
}

/** The candles after the spike rule, and what it found. */
export interface SpikeScreen {
  /** What features and labels see: with `action: 'mask'` the spike minutes are gap rows; otherwise the input. */
  candles: CandleSeries;
  reference: CandleSeries | undefined;
  spikes: Spike[];
  referenceSpikes: Spike[];
  /** True when the spike minutes were masked. */
  masked: boolean;
  /** One line per series with spikes (empty without any). */
  warnings: string[];
}

/** Spikes listed by name in a warning (the manifest lists up to {@link SPIKES_LISTED}). */
const SPIKES_NAMED = 5;
export const SPIKES_LISTED = 50;

function describeSpikes(series: string, spikes: readonly Spike[], rule: SpikeRule): string {
  const shown = spikes.slice(0, SPIKES_NAMED).map((k) => {
    const sigma = Number.isFinite(k.sigma_bps) && k.sigma_bps > 0 ? `, ${Math.round(Math.abs(k.move_bps) / k.sigma_bps)}σ` : '';
    return `${iso(k.ts)} ${k.move_bps > 0 ? '+' : ''}${Math.round(k.move_bps)} bps${sigma}`;
  });
  const more = spikes.length > SPIKES_NAMED ? `, and ${spikes.length - SPIKES_NAMED} more` : '';
  const what = rule.action === 'mask' ? 'masked as missing minutes (no label or feature window crosses them)' : 'kept as they are (spikes.action = warn)';
  return `candles for ${series}: ${spikes.length} spike minute${spikes.length === 1 ? '' : 's'} (high or low beyond ${rule.min_move_bps} bps and ${rule.sigma_multiple}σ of ordinary 1-minute returns from the previous close) ${what}: ${shown.join('; ')}${more}`;
}

/**
 * Apply the spike rule (SPEC §1.1's validation, extended: issue 14) to the candles and the
 * reference: find spike minutes, and with `action: 'mask'` mark them as gaps in copies of
 * the series, so that no σ, label or feature window crosses them. The inputs are not changed.
 */
export function screenSpikes(candles: CandleSeries, reference: CandleSeries | undefined, rule: SpikeRule): SpikeScreen {
  const spikes = findSpikes(candles, rule);
  const referenceSpikes = reference ? findSpikes(reference, rule) : [];
  const mask = rule.action === 'mask';
  const warnings: string[] = [];
  if (spikes.length > 0) warnings.push(describeSpikes(candles.symbol, spikes, rule));
  if (reference && referenceSpikes.length > 0) warnings.push(describeSpikes(`${reference.symbol} (the reference)`, referenceSpikes, rule));
  return {
    candles: mask && spikes.length > 0 ? maskRows(candles, spikes.map((k) => k.row)) : candles,
    reference: reference && mask && referenceSpikes.length > 0 ? maskRows(reference, referenceSpikes.map((k) => k.row)) : reference,
    spikes,
    referenceSpikes,
    masked: mask,
    warnings,
  };
}

/** The labelled rows of a window: labels, which rows can be trained on, and the training target. */
export interface LabelledRows {
  labels: TripleBarrierLabels;
  /** Rows with a label, ascending. */
  rows: Int32Array;
  /** When each row's label is known (exit bar's close, epoch ms), NaN without a label; and which rows are usable. */
  timeline: RowTimeline;
  /** The regression target: the net edge, or (negative control) the net edge permuted across `rows`. */
  target: Float64Array;
  meanNetEdgeBps: number;
  positiveShare: number;
  /** Mean round-trip cost over the labelled rows, bps. */
  typicalRoundTripBps: number;
}

/** Fisher–Yates permutation of `values` at `rows`, seeded (mulberry32). */
function permuteAt(values: Float64Array, rows: Int32Array, seed: number): void {
  const rng = new Mulberry32(seed);
  for (let k = rows.length - 1; k > 0; k--) {
    const j = Math.floor(rng.next() * (k + 1));
    const ik = rows[k]!;
    const ij = rows[j]!;
    const t = values[ik]!;
    values[ik] = values[ij]!;
    values[ij] = t;
  }
}

/** Triple-barrier labels net of costs (SPEC §1.3) and the rows and target the models train on. */
export function labelRows(candles: CandleSeries, cfg: TrainConfig, funding?: FundingSeries, fromRow = 0): LabelledRows {
  const ts = candles.ts;
  const n = ts.length;
  const labels = tripleBarrierLabels(candles, cfg.labels, cfg.costs, funding);
  const usable = new Uint8Array(n);
  const labelEnd = new Float64Array(n).fill(NaN);
  let nUsable = 0;
  let sumNet = 0;
  let positive = 0;
  let sumCost = 0;
  let traded = 0;
  // rows before `fromRow` are warm-up history: never trained on, tested or counted
  for (let i = fromRow; i < n; i++) {
    if (labels.exit_reason[i] === EXIT_NONE) continue;
    usable[i] = 1;
    labelEnd[i] = ts[labels.exit_index[i]!]! + MINUTE_MS;
    nUsable++;
    sumNet += labels.net_edge_bps[i]!;
    // The typical cost is that of a trade: unfilled maker entries cost nothing and are left out.
    if (labels.exit_reason[i] !== EXIT_UNFILLED) {
      sumCost += labels.fee_bps[i]! + labels.spread_bps[i]! + labels.slippage_bps[i]! + labels.funding_bps[i]!;
      traded++;
    }
    if (labels.net_edge_bps[i]! > 0) positive++;
  }
  const rows = new Int32Array(nUsable);
  for (let i = 0, k = 0; i < n; i++) if (usable[i] === 1) rows[k++] = i;
  const target = Float64Array.from(labels.net_edge_bps);
  if (cfg.controls.permute_target_seed !== null) permuteAt(target, rows, cfg.controls.permute_target_seed);
  return {
    labels,
    rows,
    timeline: { ts, label_end: labelEnd, usable },
    target,
    meanNetEdgeBps: nUsable > 0 ? sumNet / nUsable : 0,
    positiveShare: nUsable > 0 ? positive / nUsable : 0,
    typicalRoundTripBps: traded > 0 ? sumCost / traded : 0,
  };
}

/** The manifest's `data.market` block: what the candles are, how they were priced, where funding came from. */
export interface MarketSummary {
  candles: 'spot' | 'usdm-perp';
  priced_as: 'spot' | 'usdm-perp';
  funding: 'none' | 'series' | 'constant';
  funding_rates: number;
  note: string;
}

/**
 * Check that the candles, the funding rates and the cost model fit together, and say
 * plainly how the run is priced. A perpetual priced from the venue's funding series needs
 * that series (DataError `FUNDING_MISSING` otherwise, before any work); perp costs on spot
 * candles with a constant funding are allowed and described as such. Null for cost-v1 on
 * spot candles (nothing to say).
 */
export function describeMarket(symbol: string, cfg: TrainConfig, candlesMarket: 'spot' | 'usdm-perp', funding: FundingSeries | undefined): MarketSummary | null {
  const c = cfg.costs;
  const pricedAs = c.version === 'cost-v2' ? c.market : 'spot';
  const mode = c.version === 'cost-v2' ? c.funding.mode : 'none';
  if (c.version === 'cost-v1' && candlesMarket === 'spot') return null;
  const rates = funding?.ts.length ?? 0;
  let note: string;
  if (pricedAs === 'spot') {
    note = candlesMarket === 'spot' ? 'spot costs on spot candles' : 'spot costs priced on perpetual candles (no funding charged)';
  } else if (mode === 'series') {
    if (!funding || rates === 0) {
      throw new DataError('FUNDING_MISSING', `${symbol}: the cost model (${c.version === 'cost-v2' ? (c.profile ?? 'cost-v2') : c.version}) prices funding from the venue's series, but the run has no funding rates: load the perpetual's candles and funding from an exchange source (binanceusdm), or set costs.funding.mode to 'constant' (e.g. 0 bps) to price perp costs on these candles, which the manifest then says`, { symbol });
    }
    note = `${candlesMarket === 'spot' ? 'perpetual costs on SPOT candles' : 'perpetual costs on perpetual candles'} with the venue's funding series (${rates} funding rates)`;
  } else {
    const rate = c.version === 'cost-v2' ? c.funding.constant_rate_bps : 0;
    note = `${candlesMarket === 'spot' ? 'perpetual costs priced on SPOT candles' : 'perpetual costs on perpetual candles'} with a CONSTANT funding of ${rate} bps every ${c.version === 'cost-v2' ? c.funding.interval_hours : 8} h, not the venue's series`;
  }
  return { candles: candlesMarket, priced_as: pricedAs, funding: mode, funding_rates: rates, note };
}
