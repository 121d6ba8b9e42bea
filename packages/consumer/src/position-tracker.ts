import { allocCandles, MINUTE_MS } from '@engine/shared';
import { EXIT_REASON_NAMES, fundingCostBps, fundingOf, isMakerEntry, labelSpan, tripleBarrierLabels, type CostModel, type LabelConfig } from '@engine/model';
import type { CandleInput } from '@engine/features';

/** A position the trader holds: entered at the open of the bar after its signal bar. */
export interface OpenPosition {
  /** Open time of the signal candle (epoch ms). */
  signal_ts: number;
  /**
   * Entry time: the signal candle's close = the next candle's open (epoch ms). A maker
   * entry: the open of the candle that traded through the limit (until then, the signal
   * candle's close, when the order is placed).
   */
  entry_ts: number;
  /** Entry price, known once the next candle's open (taker) or the fill (maker: the limit) is seen; NaN until then. */
  entry_price: number;
  /** `taker`: buy (sell) at the next open. `maker`: rest a limit at `limit_price`, cancelled after `fill_by_ts` unless traded through. */
  entry: 'taker' | 'maker';
  /** The limit price of a maker entry (the signal candle's close); NaN for a taker entry. */
  limit_price: number;
  /** A maker entry's order is cancelled at this time (epoch ms) unless filled; NaN for a taker entry. */
  fill_by_ts: number;
  /** True once the entry has filled (a taker entry fills at the next open). */
  filled: boolean;
  /** Barriers in bps of the entry price, fixed at the signal bar (NaN until known). */
  tp_bps: number;
  sl_bps: number;
  /** Latest possible exit: the close of signal bar + horizon (epoch ms); a maker entry: of the fill bar + horizon − 1, known at the fill. */
  exit_by_ts: number;
  side: 'long' | 'short';
  predicted_bps: number;
  model_id: string;
}

/** A position the tracker saw close. */
export interface ClosedPosition extends OpenPosition {
  /**
   * Close of the exit bar (epoch ms); an unfilled maker entry: when its order was cancelled;
   * an `agent` exit: the open it sold at (the close of the candle that decided it).
   */
  exit_ts: number;
  /**
   * `unfilled`: a maker entry never traded through; nothing was bought, the bps are 0.
   * `agent`: a trading agent (family ppo) sold the position at the next candle's open ({@link PositionTracker.requestExit}).
   */
  exit_reason: 'tp' | 'sl' | 'time' | 'unfilled' | 'agent';
  gross_bps: number;
  net_bps: number;
  fee_bps: number;
  spread_bps: number;
  slippage_bps: number;
  /** Funding paid over the trade, bps (negative: received). Live, a perpetual's series is not known: 0 unless the model prices a constant. */
  funding_bps: number;
}

/**
 * Follows one open position through live candles and reports its exit exactly as the
 * triple-barrier labeller decides it in training — by running the labeller itself
 * (`tripleBarrierLabels`) over the few candles that matter, so the live exit rule and the
 * simulated one are the same code, not two copies.
 *
 * The tracker keeps the last `vol_window + horizon + 2` candles. While a position is open,
 * each new candle j asks the labeller for the signal row's label on the candles up to j,
 * padded to the horizon with flat copies of candle j's close. A padded bar can never touch
 * a barrier that candle j itself did not touch (its high = low = close[j] lies within bar
 * j's range), so the label's exit index is ≤ j exactly when the real trade has exited by
 * bar j; otherwise the position is still open.
 */
export class PositionTracker {
  private labels: LabelConfig;
  private costs: CostModel;
  /** Settings of a newer model, applied once the open position has closed. */
  private pending: { labels: LabelConfig; costs: CostModel } | null = null;
  private cap = 0;
  private ts = new Float64Array(0);
  private open = new Float64Array(0);
  private high = new Float64Array(0);
  private low = new Float64Array(0);
  private close = new Float64Array(0);
  private volume = new Float64Array(0);
  private gap = new Uint8Array(0);
  /** Candles pushed so far. */
  private count = 0;
  /** Candles the ring holds (the latest `held` pushes; fewer than `count` after it grew). */
  private held = 0;
  /** Consecutive non-gap candles up to the latest. */
  private cleanRun = 0;
  private position: OpenPosition | null = null;
  /** The open position's side (a `both` model chooses it at each entry). */
  private positionSide: 'long' | 'short' = 'long';
  /** `count` at the signal candle (1-based: the signal candle was the count-th pushed). */
  private signalCount = 0;
  /** The open position's round-trip cost (fee, spread, slippage) at its signal's σ, from its label at entry; NaN when unlabelled. */
  private entryCosts = { fee: NaN, spread: NaN, slippage: NaN };
  /** The open position is to be sold at the next candle's open (a trading agent's sell). */
  private exitRequested = false;
  private readonly symbol: string;

  constructor(symbol: string, labels: LabelConfig, costs: CostModel) {
    this.symbol = symbol;
    this.labels = labels;
    this.costs = costs;
    this.apply(labels, costs);
  }

  /**
   * Use a (new model's) labelling and cost settings for the next position. An open
   * position keeps the settings it was entered with; the change applies once it closes.
   */
  setConfig(labels: LabelConfig, costs: CostModel): void {
    if (this.position !== null) this.pending = { labels, costs };
    else this.apply(labels, costs);
  }

  private apply(labels: LabelConfig, costs: CostModel): void {
    // The labeller must never refuse at trade time: the model was trained with these
    // settings, and whether they are winnable was decided (and recorded) then.
    this.labels = { ...labels, allow_unwinnable: true };
    // Funding from the venue's series is not fed to the tracker: exits do not depend on
    // it, and the net bps it reports leave it out (priced as a zero constant).
    this.costs = costs.version === 'cost-v2' && costs.funding.mode === 'series' ? { ...costs, funding: { ...costs.funding, mode: 'constant', constant_rate_bps: 0 } } : costs;
    this.pending = null;
    const cap = labels.vol_window + labelSpan(labels, costs) + 2;
    if (cap <= this.cap) return;
    // Grow the ring, keeping the candles it holds in push order; older ones are gone, so
    // the tracker is not tradable until the new σ window has filled again.
    const keep = this.held;
    const old = { ts: this.ts, open: this.open, high: this.high, low: this.low, close: this.close, volume: this.volume, gap: this.gap };
    const oldCap = this.cap;
    this.cap = cap;
    this.ts = new Float64Array(cap);
    this.open = new Float64Array(cap);
    this.high = new Float64Array(cap);
    this.low = new Float64Array(cap);
    this.close = new Float64Array(cap);
    this.volume = new Float64Array(cap);
    this.gap = new Uint8Array(cap);
    for (let p = this.count - keep; p < this.count; p++) {
      const from = p % oldCap;
      const to = p % cap;
      this.ts[to] = old.ts[from]!;
      this.open[to] = old.open[from]!;
      this.high[to] = old.high[from]!;
      this.low[to] = old.low[from]!;
      this.close[to] = old.close[from]!;
      this.volume[to] = old.volume[from]!;
      this.gap[to] = old.gap[from]!;
    }
  }

  /** The open position, if any. */
  current(): OpenPosition | null {
    return this.position;
  }

  get horizon(): number {
    return this.labels.horizon_minutes;
  }

  /** Record the next candle (every candle, in order) and return the position it closed, if any. */
  push(c: CandleInput): ClosedPosition | null {
    const k = this.count % this.cap;
    const g = c.gap === true || c.gap === 1;
    this.ts[k] = c.ts;
    this.open[k] = g ? NaN : c.open;
    this.high[k] = g ? NaN : c.high;
    this.low[k] = g ? NaN : c.low;
    this.close[k] = g ? NaN : c.close;
    this.volume[k] = g ? NaN : c.volume;
    this.gap[k] = g ? 1 : 0;
    this.count++;
    this.held = Math.min(this.held + 1, this.cap);
    this.cleanRun = g ? 0 : this.cleanRun + 1;
    if (this.position === null) return null;
    const closed = this.exitRequested ? this.agentExit() : this.evaluate();
    if (closed !== null && this.pending !== null) this.apply(this.pending.labels, this.pending.costs);
    return closed;
  }

  /**
   * Whether the latest candle can be traded the way the simulation trades: the labeller
   * gives it barriers only when its σ window (vol_window returns) is complete and has no
   * gap, and the simulation never enters a row without a label.
   */
  tradable(): boolean {
    const need = this.labels.vol_window + 1;
    return this.cleanRun >= need && this.held >= need;
  }

  /**
   * Open a position on the latest candle (the signal candle), on the model's side; a `both`
   * model names the side it chose.
   */
  enter(predictedBps: number, modelId: string, side?: 'long' | 'short'): OpenPosition {
    if (this.position !== null) throw new Error(`${this.symbol}: enter called while a position is open`);
    const configured = this.labels.side;
    if (configured === 'both' ? side === undefined : side !== undefined && side !== configured) {
      throw new Error(`${this.symbol}: enter on side ${side ?? '(none)'} with a model of side ${configured}`);
    }
    this.positionSide = side ?? (configured as 'long' | 'short');
    const lab = this.label(this.count, this.count);
    const b = lab === null ? null : { tp_bps: lab.tp, sl_bps: lab.sl };
    this.entryCosts = lab === null ? { fee: NaN, spread: NaN, slippage: NaN } : { fee: lab.fee, spread: lab.spread, slippage: lab.slippage };
    this.exitRequested = false;
    const k = (this.count - 1) % this.cap;
    const signalTs = this.ts[k]!;
    this.signalCount = this.count;
    const costs = this.costs;
    const maker = isMakerEntry(costs);
    const window = maker ? costs.maker_fill.window_minutes : 0;
    this.position = {
      signal_ts: signalTs,
      entry_ts: signalTs + MINUTE_MS,
      entry_price: NaN,
      entry: maker ? 'maker' : 'taker',
      limit_price: maker ? this.close[k]! : NaN,
      fill_by_ts: maker ? signalTs + (window + 1) * MINUTE_MS : NaN,
      filled: !maker,
      tp_bps: b ? b.tp_bps : NaN,
      sl_bps: b ? b.sl_bps : NaN,
      exit_by_ts: signalTs + (maker ? window + this.labels.horizon_minutes : this.labels.horizon_minutes + 1) * MINUTE_MS,
      side: this.positionSide,
      predicted_bps: predictedBps,
      model_id: modelId,
    };
    return this.position;
  }

  /** Forget the open position (e.g. Hamilton closed it by hand). */
  clear(): void {
    this.position = null;
    this.exitRequested = false;
  }

  /** Candles pushed since the open position's signal candle (0 on the signal candle itself); NaN when flat. */
  barsSinceSignal(): number {
    return this.position === null ? Number.NaN : this.count - this.signalCount;
  }

  /** Whether the open position is to be sold at the next candle's open ({@link requestExit}). */
  get exitPending(): boolean {
    return this.exitRequested;
  }

  /**
   * Sell the open position at the next candle's open (a trading agent's sell, decided at
   * this candle's close): the next `push` closes it with exit reason `agent`, exit time that
   * candle's open, gross bps from the entry price to that open and net bps after the round
   * trip the labeller charged the entry (fee, spread, slippage at the signal's σ) and the
   * funding of a constant-rate cost model over the hold. That candle's barriers are not
   * checked: the position was gone at its open. Only a filled entry can be sold.
   */
  requestExit(): void {
    const p = this.position;
    if (p === null) throw new Error(`${this.symbol}: requestExit with no open position`);
    if (!p.filled || Number.isNaN(p.entry_price)) throw new Error(`${this.symbol}: requestExit before the entry has filled (signal ${new Date(p.signal_ts).toISOString()})`);
    this.exitRequested = true;
  }

  /** Close the open position at the latest candle's open (see {@link requestExit}). */
  private agentExit(): ClosedPosition {
    const p = this.position!;
    const k = (this.count - 1) % this.cap;
    const exitTs = this.ts[k]!;
    const exitPrice = this.open[k]!;
    const gross = p.side === 'long' ? (exitPrice / p.entry_price - 1) * 1e4 : (1 - exitPrice / p.entry_price) * 1e4;
    const c = this.entryCosts;
    const funding = fundingOf(this.costs) !== null ? fundingCostBps(this.costs, p.side, p.entry_ts, exitTs) : 0;
    const closed: ClosedPosition = {
      ...p,
      exit_ts: exitTs,
      exit_reason: 'agent',
      gross_bps: gross,
      net_bps: gross - (c.fee + c.spread + c.slippage) - funding,
      fee_bps: c.fee,
      spread_bps: c.spread,
      slippage_bps: c.slippage,
      funding_bps: funding,
    };
    this.position = null;
    this.exitRequested = false;
    return closed;
  }

  private evaluate(): ClosedPosition | null {
    const p = this.position!;
    const j = this.count - this.signalCount; // bars since the signal bar
    if (p.entry === 'taker' && j === 1 && Number.isNaN(p.entry_price)) p.entry_price = this.open[(this.count - 1) % this.cap]!;
    const lab = this.label(this.signalCount, this.count);
    if (lab === null) {
      // A gap inside the trade window: the labeller cannot place the exit. Close at the
      // horizon with no P&L figures rather than hold forever.
      if (j < labelSpan(this.labels, this.costs)) return null;
      const closed: ClosedPosition = { ...p, exit_ts: p.exit_by_ts, exit_reason: 'time', gross_bps: NaN, net_bps: NaN, fee_bps: NaN, spread_bps: NaN, slippage_bps: NaN, funding_bps: NaN };
      this.position = null;
      return closed;
    }
    // A maker entry fills on the bar that traded through its limit: the labeller's entry bar.
    if (p.entry === 'maker' && !p.filled && lab.entryOffset > 0 && lab.entryOffset <= j) {
      p.filled = true;
      p.entry_price = p.limit_price;
      p.entry_ts = p.signal_ts + lab.entryOffset * MINUTE_MS;
      p.exit_by_ts = p.signal_ts + (lab.entryOffset + this.labels.horizon_minutes) * MINUTE_MS;
    }
    if (lab.exitOffset > j) return null;
    const closed: ClosedPosition = {
      ...p,
      exit_ts: p.signal_ts + (lab.exitOffset + 1) * MINUTE_MS,
      exit_reason: EXIT_REASON_NAMES[lab.reason] as 'tp' | 'sl' | 'time',
      gross_bps: lab.gross,
      net_bps: lab.net,
      fee_bps: lab.fee,
      spread_bps: lab.spread,
      slippage_bps: lab.slippage,
      funding_bps: lab.funding,
    };
    this.position = null;
    return closed;
  }

  /**
   * Label the signal candle (the `signalCount`-th pushed) using candles up to the
   * `lastCount`-th, padded flat to the horizon. Null when the labeller leaves it unlabelled.
   */
  private label(signalCount: number, lastCount: number) {
    const w = this.labels.vol_window;
    const h = labelSpan(this.labels, this.costs);
    const first = signalCount - 1 - w; // 0-based index (in pushes) of the first candle used
    if (first < 0 || first < this.count - this.held) return null;
    const real = lastCount - first; // candles first..lastCount-1
    // Signal row at index w; the labeller labels row t only when t + h < rows, hence one
    // bar beyond the horizon (never read for row w).
    const rows = w + h + 2;
    const series = allocCandles(this.symbol, rows);
    let lastK = 0;
    for (let i = 0; i < rows; i++) {
      if (i < real) {
        const k = (first + i) % this.cap;
        lastK = k;
        series.ts[i] = this.ts[k]!;
        series.open[i] = this.open[k]!;
        series.high[i] = this.high[k]!;
        series.low[i] = this.low[k]!;
        series.close[i] = this.close[k]!;
        series.volume[i] = this.volume[k]!;
        series.gap[i] = this.gap[k]!;
      } else {
        const c = this.close[lastK]!;
        series.ts[i] = series.ts[i - 1]! + MINUTE_MS;
        series.open[i] = c;
        series.high[i] = c;
        series.low[i] = c;
        series.close[i] = c;
        series.volume[i] = 0;
        series.gap[i] = this.gap[lastK]!;
      }
    }
    const lab = tripleBarrierLabels(series, { ...this.labels, side: this.positionSide }, this.costs);
    const net = lab.net_edge_bps[w]!;
    if (Number.isNaN(net)) return null;
    return {
      exitOffset: lab.exit_index[w]! - w,
      entryOffset: lab.entry_index[w]! < 0 ? -1 : lab.entry_index[w]! - w,
      funding: lab.funding_bps[w]!,
      reason: lab.exit_reason[w]!,
      gross: lab.gross_bps[w]!,
      net,
      tp: lab.tp_bps[w]!,
      sl: lab.sl_bps[w]!,
      fee: lab.fee_bps[w]!,
      spread: lab.spread_bps[w]!,
      slippage: lab.slippage_bps[w]!,
    };
  }
}
