import { EXIT_TIME, type TripleBarrierLabels } from '@engine/model';
import { T0 } from './candle-fixtures';

/**
 * Hand-made labels: row i has net edge `net[i]` (NaN = unlabelled), exits `hold` bars later
 * at the vertical barrier, gross = net + 23 split 20 fee / 2 spread / 1 slippage.
 */
export function handLabels(net: number[], hold = 4): { labels: TripleBarrierLabels; ts: Float64Array } {
  const n = net.length + hold + 1;
  const f = (v: number) => new Float64Array(n).fill(v);
  const labels: TripleBarrierLabels = {
    rows: n,
    net_edge_bps: f(NaN),
    gross_bps: f(NaN),
    exit_reason: new Uint8Array(n),
    exit_index: new Int32Array(n).fill(-1),
    tp_bps: f(NaN),
    sl_bps: f(NaN),
    sigma1_bps: f(NaN),
    fee_bps: f(NaN),
    spread_bps: f(NaN),
    slippage_bps: f(NaN),
    funding_bps: f(NaN),
    entry_index: new Int32Array(n).fill(-1),
    entry_price: f(NaN),
    labelled: 0,
    dropped: { warmup: 0, gap: 0, end_of_data: 0 },
    unfilled: 0,
    winnable_fraction: 1,
    warnings: [],
  };
  net.forEach((v, i) => {
    if (Number.isNaN(v)) return;
    labels.net_edge_bps[i] = v;
    labels.gross_bps[i] = v + 23;
    labels.fee_bps[i] = 20;
    labels.spread_bps[i] = 2;
    labels.slippage_bps[i] = 1;
    labels.funding_bps[i] = 0;
    labels.entry_index[i] = i + 1;
    labels.exit_index[i] = i + hold;
    labels.exit_reason[i] = EXIT_TIME;
    labels.labelled++;
  });
  const ts = new Float64Array(n);
  for (let i = 0; i < n; i++) ts[i] = T0 + i * 60_000;
  return { labels, ts };
}
