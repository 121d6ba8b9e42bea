import { FEATURE_NAMES, RECIPE } from '@engine/features';
import { parsePortableModel, type PortableModel } from '@engine/ensemble';
import { BUNDLE_FILES, fundingOf, GOLDEN_TOLERANCE, goldenRelativeError, isMakerEntry, PPO_AGENT_MODEL_FORMAT, validateGolden, validatePolicyGolden } from '@engine/model';
import type { CostModel, Demotion, GoldenRow, LabelConfig, LatestPointer, ModelManifest, PolicyGoldenRow, TradingRules } from '@engine/model';
import { ACTION_NAMES, POLICY_ONNX_OUTPUT_GREEDY, POLICY_ONNX_OUTPUT_PROBABILITIES, POSITION_INPUTS, PpoAgent, type PositionState } from '@engine/ppo';
import type * as OrtModule from 'onnxruntime-node';
import type { FetchedBundle } from './bundle-fetch';
import { GoldenVectorMismatchError, ManifestInvalidError, ModelDemotedError, ModelExpiredError, ModelRejectedError, OnnxLoadError, RecipeMismatchError } from './errors';
import { createOnnxSession, ort, OrtFloat32Array, type ExecutionProvider, type OnnxSessionOptions } from './onnx-runtime';

/** What the model says about one candle. */
export interface Prediction {
  /** Expected net edge after costs, bps of notional. */
  edge_bps: number;
  /** P(net edge > 0) in [0, 1]; NaN when the bundle has no confidence model. */
  confidence: number;
  /** `side: both` models: the short model's expected net edge (bps) and confidence; absent otherwise. */
  short_edge_bps?: number;
  short_confidence?: number;
}

/** The short half of a `side: both` model: its ONNX part, native trees and threshold. */
interface ShortSide {
  onnx: OnnxPart;
  edgeNative: PortableModel | null;
  confNative: PortableModel | null;
}

/**
 * Which implementation scores live candles. Both are checked against the bundle's golden
 * vectors when the model is opened, so both compute what training computed:
 * - `native`: the bundle's trees (`model.json`, `confidence.json`) evaluated in-process
 *   by @engine/gbdt's predictor (the one training uses), with ONNX's float32 comparisons;
 *   synchronous, a few µs per row. The default hot path.
 * - `onnx`: onnxruntime-node on `model.onnx` / `confidence.onnx`, asynchronous, tens of µs.
 */
export type PredictorKind = 'native' | 'onnx';

/** Golden-vector agreement measured when the model was opened. */
export interface GoldenReport {
  rows: number;
  /** Largest |got − expected| / max(1, |expected|) over rows and outputs, per predictor. */
  onnx_max_rel_error: number;
  native_max_rel_error: number | null;
  /** The contract's `GOLDEN_TOLERANCE` (@engine/model) every output was held to. */
  tolerance: number;
}

/**
 * The freshness rules a consumer applies before trading a model. Both refusals are the
 * default: a rejected or stale model is never traded by accident.
 */
export interface ModelGuardOptions {
  /** Load a model whose gates failed (research, replays of rejected models). Default false: `ModelRejectedError`. */
  allowRejected?: boolean;
  /**
   * Load a model past its `expires_at`, and keep entering with it after that time. Default
   * false: opening it throws `ModelExpiredError`, and a `Trader` stops entering once a
   * candle's decision time passes it (reason `model_expired`).
   */
  allowExpired?: boolean;
  /** The clock the expiry is checked against when opening (epoch ms). Default `Date.now`. */
  now?: () => number;
  /** Load a model whose `latest.json` says live monitoring demoted it (research only). Default false: `ModelDemotedError`. */
  allowDemoted?: boolean;
}

/** One ONNX file: its session, input name, and which output is which. */
interface OnnxPart {
  session: OrtModule.InferenceSession;
  input: string;
  /** Output giving the edge (null: this file only has the confidence). */
  edge: string | null;
  /** Output giving the confidence, if this file has one. */
  confidence: string | null;
}

/** A trading agent's policy graph (family `ppo`): observation in, action probabilities and the greedy action out. */
interface PolicyOnnxPart {
  session: OrtModule.InferenceSession;
  input: string;
  /** Observation size: the agent's features then its position inputs. */
  size: number;
}

/** Output names the training exporter uses (`manifest.action_space.outputs`). */
const EDGE_OUTPUT = 'predicted_edge_bps';
const CONFIDENCE_OUTPUT = 'confidence';

/**
 * A verified, loaded model: the manifest, its trading rules and barrier settings, and
 * the predictors. Made by `openModel` (never directly); every check has passed by the
 * time one exists. `close()` releases the ONNX sessions once in-flight predictions end.
 */
export class LiveModel {
  readonly symbol: string;
  readonly modelId: string;
  readonly runDate: string;
  readonly manifest: ModelManifest;
  readonly pointer: LatestPointer | undefined;
  /** Where it was loaded from, for logs. */
  readonly origin: string;
  /** Where onnxruntime runs it, and why not CUDA when CUDA was wanted. */
  readonly provider: ExecutionProvider;
  readonly providerNote: string | undefined;
  readonly golden: GoldenReport;
  /**
   * Entry rules for `TradeDecider`: threshold, cooldown, daily cap. A `side: both` model
   * decides on the margin of the better side over its own threshold, so its decider's
   * threshold is 0 and the sides' thresholds are in `sideThresholds`.
   */
  readonly tradingRules: TradingRules;
  /** `side: both`: each side's entry threshold (bps); null for a one-sided model. */
  readonly sideThresholds: { long: number; short: number } | null;
  /** Barrier settings of the labeller (exits are decided by the same rule). */
  readonly labelConfig: LabelConfig;
  readonly costModel: CostModel;
  /** `expires_at` in epoch ms; null when the manifest has none (written before expiry existed). */
  readonly expiresAt: number | null;
  /** True when opened with `allowExpired`: a trader keeps entering with it after `expiresAt`. */
  readonly allowExpired: boolean;
  private demotion: Demotion | null = null;
  /** Model inputs in order (names of the recipe). */
  readonly inputNames: readonly string[];
  private readonly inputIndex: Int32Array;
  /** True when the inputs are the recipe row as is (no gather needed). */
  private readonly identity: boolean;
  /** The edge model's ONNX part; null for a trading agent (its graph is `policyOnnx`). */
  private readonly edgeOnnx: OnnxPart | null;
  private readonly confOnnx: OnnxPart | null;
  /**
   * A `ppo` bundle's trading agent (`model.json`): it acts on each candle (hold, buy, sell)
   * instead of predicting an edge; null for the edge-model families. See `actNative`.
   */
  readonly agent: PpoAgent | null;
  /**
   * A trading agent's final threshold choice (`thresholds.final.trade`): false when the
   * training record said not to trade it, and then it never enters. Always true otherwise.
   */
  readonly agentTrades: boolean;
  private readonly policyOnnx: PolicyOnnxPart | null;
  private readonly observation: Float64Array;
  private readonly edgeNative: PortableModel | null;
  private readonly confNative: PortableModel | null;
  private readonly short: ShortSide | null;
  private readonly gathered: Float64Array;
  private readonly onnxInput: Float32Array;
  private inflight = 0;
  private closing: Promise<void> | null = null;
  private releaseNow: (() => void) | null = null;

  private constructor(init: {
    bundle: FetchedBundle;
    manifest: ModelManifest;
    provider: ExecutionProvider;
    providerNote: string | undefined;
    inputIndex: Int32Array;
    edgeOnnx: OnnxPart | null;
    confOnnx: OnnxPart | null;
    agent?: { agent: PpoAgent; onnx: PolicyOnnxPart };
    edgeNative: PortableModel | null;
    confNative: PortableModel | null;
    golden: GoldenReport;
    allowExpired: boolean;
    short: ShortSide | null;
  }) {
    const m = init.manifest;
    this.expiresAt = m.expires_at !== undefined ? Date.parse(m.expires_at) : null;
    this.allowExpired = init.allowExpired;
    this.symbol = m.symbol;
    this.modelId = m.model_id;
    this.runDate = m.run_date;
    this.manifest = m;
    this.pointer = init.bundle.pointer;
    this.origin = init.bundle.origin;
    this.provider = init.provider;
    this.providerNote = init.providerNote;
    this.golden = init.golden;
    const both = m.trading_params.side === 'both';
    // A side whose final threshold choice said "do not trade" never enters (threshold +∞).
    const trades = (t: { trade: boolean } | undefined) => t?.trade === true;
    this.sideThresholds = both
      ? {
          long: trades(m.thresholds.final) ? m.trading_params.recommended_edge_threshold_bps : Number.POSITIVE_INFINITY,
          short: trades(m.thresholds.short?.final) ? m.trading_params.short_edge_threshold_bps! : Number.POSITIVE_INFINITY,
        }
      : null;
    this.short = init.short;
    this.tradingRules = {
      // A trading agent's signal is its action (+1 buy, −1 otherwise) against a threshold of 0.
      threshold_bps: both || init.agent ? 0 : m.trading_params.recommended_edge_threshold_bps,
      cooldown_seconds: m.trading_params.cooldown_seconds,
      max_trades_per_day: m.trading_params.max_trades_per_day,
    };
    const l = m.labelling;
    this.labelConfig = { horizon_minutes: l.horizon_minutes, side: l.side, vol_window: l.vol_window, barriers: l.barriers, max_barrier_bps: l.max_barrier_bps, allow_unwinnable: l.allow_unwinnable };
    this.costModel = m.cost_model;
    this.inputNames = m.feature_names;
    this.inputIndex = init.inputIndex;
    this.identity = init.inputIndex.length === FEATURE_NAMES.length && init.inputIndex.every((v, i) => v === i);
    this.edgeOnnx = init.edgeOnnx;
    this.confOnnx = init.confOnnx;
    this.edgeNative = init.edgeNative;
    this.confNative = init.confNative;
    this.gathered = new Float64Array(init.inputIndex.length);
    this.agent = init.agent?.agent ?? null;
    this.policyOnnx = init.agent?.onnx ?? null;
    this.agentTrades = this.agent === null || m.thresholds.final.trade;
    this.observation = new Float64Array(this.agent?.observationSize ?? 0);
    this.onnxInput = new OrtFloat32Array(this.agent?.observationSize ?? init.inputIndex.length);
  }

  /** Why live monitoring demoted this model while it was in use (null: it was not). */
  get demoted(): Demotion | null {
    return this.demotion;
  }

  /** The watcher saw `latest.json` mark this model demoted: a trader stops entering with it (reason `model_demoted`). */
  markDemoted(d: Demotion): void {
    this.demotion ??= d;
  }

  /** Whether the in-process predictor is available (the bundle has `model.json`). */
  get hasNative(): boolean {
    return this.edgeNative !== null || this.agent !== null;
  }

  /** A one-line description for logs. */
  describe(): Record<string, unknown> {
    return {
      modelId: this.modelId,
      symbol: this.symbol,
      runDate: this.runDate,
      origin: this.origin,
      provider: this.provider,
      ...(this.providerNote ? { providerNote: this.providerNote } : {}),
      threshold_bps: this.tradingRules.threshold_bps,
      ...(this.agent ? { agent: { features: this.agent.nFeatures, hidden_sizes: this.agent.policy.hiddenSizes, trades: this.agentTrades } } : {}),
      golden: this.golden,
    };
  }

  /** The model's input row for a recipe row (`FeatureState.update`'s output). */
  private inputs(recipeRow: ArrayLike<number>): ArrayLike<number> {
    if (this.identity) return recipeRow;
    const g = this.gathered;
    const idx = this.inputIndex;
    for (let k = 0; k < idx.length; k++) g[k] = recipeRow[idx[k]!]!;
    return g;
  }

  /**
   * Score one recipe row (FeatureState's row, in `FEATURE_NAMES` order) with the
   * in-process predictor. Synchronous.
   */
  predictNative(recipeRow: ArrayLike<number>): Prediction {
    this.notAgent('predictNative', 'actNative');
    if (!this.edgeNative) throw new OnnxLoadError(`model ${this.modelId} has no model.json: use predictOnnx`, { modelId: this.modelId });
    const x = this.inputs(recipeRow);
    const p: Prediction = { edge_bps: this.edgeNative.predictRow(x), confidence: this.confNative ? this.confNative.predictRow(x) : Number.NaN };
    if (this.short) {
      if (!this.short.edgeNative) throw new OnnxLoadError(`model ${this.modelId} has no model-short.json: use predictOnnx`, { modelId: this.modelId });
      p.short_edge_bps = this.short.edgeNative.predictRow(x);
      p.short_confidence = this.short.confNative ? this.short.confNative.predictRow(x) : Number.NaN;
    }
    return p;
  }

  /** The model's inputs for a recipe row, as a fresh array in `feature_names` order (NaN → null), for feedback. */
  inputRow(recipeRow: ArrayLike<number>): (number | null)[] {
    const x = this.inputs(recipeRow);
    return Array.from({ length: this.inputIndex.length }, (_, k) => (Number.isFinite(x[k]!) ? x[k]! : null));
  }

  /** Score one recipe row with onnxruntime (the verified reference). */
  async predictOnnx(recipeRow: ArrayLike<number>): Promise<Prediction> {
    this.notAgent('predictOnnx', 'actOnnx');
    const x = this.inputs(recipeRow);
    const buf = this.onnxInput;
    for (let k = 0; k < buf.length; k++) buf[k] = x[k]!;
    const out = await this.runOnnx(buf, 1);
    // A bundle may ship the confidence model as native trees only (confidence.json).
    const confidence = out.confidence ? out.confidence[0]! : this.confNative ? this.confNative.predictRow(x) : Number.NaN;
    const p: Prediction = { edge_bps: out.edge[0]!, confidence };
    if (this.short) {
      const s = await this.runShortOnnx(buf, 1);
      p.short_edge_bps = s.edge[0]!;
      p.short_confidence = s.confidence ? s.confidence[0]! : Number.NaN;
    }
    return p;
  }

  /** Edge models only: a trading agent acts (`actNative` / `actOnnx`), it predicts no edge. */
  private notAgent(called: string, instead: string): void {
    if (this.agent) throw new OnnxLoadError(`model ${this.modelId} is a trading agent (family ppo): it has no edge to predict; use ${instead} instead of ${called}`, { modelId: this.modelId });
  }

  private needAgent(called: string): PpoAgent {
    if (!this.agent) throw new OnnxLoadError(`model ${this.modelId} is not a trading agent: ${called} is for ppo bundles; use predictNative / predictOnnx`, { modelId: this.modelId });
    return this.agent;
  }

  /**
   * A trading agent's observation of a recipe row (its features standardised, then the
   * position inputs); a view valid until the next call. Both predictors act on it.
   */
  observe(recipeRow: ArrayLike<number>, position: PositionState): Float64Array {
    return this.needAgent('observe').observe(this.inputs(recipeRow), position, this.observation);
  }

  /**
   * A trading agent's greedy action (ACTION_HOLD 0, ACTION_BUY 1, ACTION_SELL 2 of
   * @engine/ppo) for one recipe row and the position held at the candle's close, by the
   * in-process policy (`model.json`, the code training traded with). Synchronous.
   */
  actNative(recipeRow: ArrayLike<number>, position: PositionState): number {
    const agent = this.needAgent('actNative');
    return agent.act(this.inputs(recipeRow), position);
  }

  /** The agent's greedy action by onnxruntime on `model.onnx`, fed the same observation as `actNative`. */
  async actOnnx(recipeRow: ArrayLike<number>, position: PositionState): Promise<number> {
    this.needAgent('actOnnx');
    const obs = this.observe(recipeRow, position);
    const buf = this.onnxInput;
    for (let k = 0; k < buf.length; k++) buf[k] = obs[k]!;
    const out = await this.runPolicyOnnx(buf, 1);
    return out.actions[0]!;
  }

  /** A trading agent's policy graph on `rows` row-major float32 observations: probabilities [rows, 3] and greedy actions. */
  async runPolicyOnnx(data: Float32Array, rows: number): Promise<{ probabilities: Float32Array; actions: Int32Array }> {
    if (!this.policyOnnx) this.needAgent('runPolicyOnnx');
    if (this.closing) throw new OnnxLoadError(`model ${this.modelId} is closed`, { modelId: this.modelId });
    this.inflight++;
    try {
      return await runPolicy(this.policyOnnx!, data, rows);
    } finally {
      this.inflight--;
      if (this.inflight === 0 && this.releaseNow) this.releaseNow();
    }
  }

  /** The short model of a `side: both` bundle on `rows` row-major float32 rows. */
  private async runShortOnnx(data: Float32Array, rows: number): Promise<{ edge: Float32Array; confidence: Float32Array | null }> {
    if (this.closing) throw new OnnxLoadError(`model ${this.modelId} is closed`, { modelId: this.modelId });
    this.inflight++;
    try {
      return await runOnnxParts(this.short!.onnx, null, data, rows, this.inputIndex.length);
    } finally {
      this.inflight--;
      if (this.inflight === 0 && this.releaseNow) this.releaseNow();
    }
  }

  /** Score `rows` row-major model-input rows (float32) with onnxruntime. */
  async runOnnx(data: Float32Array, rows: number): Promise<{ edge: Float32Array; confidence: Float32Array | null }> {
    this.notAgent('runOnnx', 'runPolicyOnnx');
    if (this.closing) throw new OnnxLoadError(`model ${this.modelId} is closed`, { modelId: this.modelId });
    this.inflight++;
    try {
      return await runOnnxParts(this.edgeOnnx!, this.confOnnx, data, rows, this.inputIndex.length);
    } finally {
      this.inflight--;
      if (this.inflight === 0 && this.releaseNow) this.releaseNow();
    }
  }

  /** Release the ONNX sessions once in-flight predictions have finished. Idempotent. */
  close(): Promise<void> {
    if (!this.closing) {
      this.closing = (async () => {
        if (this.inflight > 0) await new Promise<void>((resolve) => (this.releaseNow = resolve));
        if (this.edgeOnnx) await this.edgeOnnx.session.release();
        if (this.policyOnnx) await this.policyOnnx.session.release();
        if (this.confOnnx) await this.confOnnx.session.release();
        if (this.short) await this.short.onnx.session.release();
      })();
    }
    return this.closing;
  }

  /**
   * Check a fetched, hash-verified bundle (its manifest already validated against the
   * manifest schema by `parseManifest`) and load it: recipe hash, model inputs, ONNX
   * sessions, native trees, golden vectors. Throws the refusal; nothing is left open.
   * Use `openModel` rather than calling this directly.
   */
  static async load(bundle: FetchedBundle, opts: OnnxSessionOptions & ModelGuardOptions = {}): Promise<LiveModel> {
    const manifest = bundle.manifest;
    const at = `model ${manifest.model_id} (${bundle.symbol} ${manifest.run_date}) from ${bundle.origin}`;
    const details = { symbol: bundle.symbol, modelId: manifest.model_id };

    // Freshness first: a rejected or stale model is refused before anything is loaded.
    if (!manifest.gates.passed && opts.allowRejected !== true) {
      throw new ModelRejectedError(`${at}: the model was rejected by its gates (failed: ${manifest.gates.failed.join(', ') || 'unknown'}) and is not for trading; pass allowRejected to load it for research`, { ...details, failed: manifest.gates.failed });
    }
    const demoted = bundle.pointer?.demoted;
    if (demoted !== undefined && opts.allowDemoted !== true) {
      throw new ModelDemotedError(`${at}: live monitoring demoted the model at ${demoted.at} (${demoted.rule}: ${demoted.detail}); the symbol has no model to trade until a new one is published`, { ...details, rule: demoted.rule });
    }
    if (manifest.expires_at !== undefined && opts.allowExpired !== true) {
      const now = (opts.now ?? Date.now)();
      if (now > Date.parse(manifest.expires_at)) {
        throw new ModelExpiredError(`${at}: the model expired at ${manifest.expires_at} (it is now ${new Date(now).toISOString()}): wait for a fresh model, or pass allowExpired to load it anyway`, { ...details, expires_at: manifest.expires_at });
      }
    }

    // The recipe: the model must have been trained on the features this library computes.
    const r = manifest.feature_recipe;
    if (r.hash !== RECIPE.hash) {
      throw new RecipeMismatchError(
        `${at}: trained on feature recipe ${r.version} (hash ${r.hash}), this library computes recipe ${RECIPE.version} (hash ${RECIPE.hash}); update the consumer or wait for a model of this recipe`,
        { ...details, expected: RECIPE.hash, found: r.hash, expectedVersion: RECIPE.version, foundVersion: r.version },
      );
    }
    if (bundle.pointer && bundle.pointer.feature_recipe.hash !== r.hash) {
      throw new RecipeMismatchError(`${at}: latest.json says recipe hash ${bundle.pointer.feature_recipe.hash}, manifest.json says ${r.hash}`, { ...details, pointer: bundle.pointer.feature_recipe.hash, manifest: r.hash });
    }
    if (manifest.extra_features.length > 0) {
      throw new RecipeMismatchError(`${at}: the model needs features outside the recipe (${manifest.extra_features.join(', ')}), which a live trader cannot compute`, { ...details, extra: manifest.extra_features });
    }
    const names = manifest.feature_names;
    const position = new Map<string, number>(FEATURE_NAMES.map((n, i) => [n, i]));
    const unknown = names.filter((n) => !position.has(n));
    if (unknown.length > 0) {
      throw new RecipeMismatchError(`${at}: model inputs ${unknown.join(', ')} are not features of recipe ${RECIPE.version}`, { ...details, unknown });
    }
    const inputIndex = Int32Array.from(names, (n) => position.get(n)!);

    // A trading agent (family ppo): its own native format, policy graph and golden vectors.
    const nativeBytes = bundle.files.get(BUNDLE_FILES.native);
    if (manifest.engine.model_format === PPO_AGENT_MODEL_FORMAT || (nativeBytes !== undefined && PpoAgent.isAgentJson(Buffer.from(nativeBytes.subarray(0, 256)).toString('utf8')))) {
      return LiveModel.loadAgent(bundle, opts, inputIndex, at, details);
    }

    // Native trees (optional: a bundle may ship ONNX only).
    const edgeNative = parseNative(bundle, 'model.json', names, at, details);
    const confNative = parseNative(bundle, 'confidence.json', names, at, details);

    // golden.json is required: without it nothing proves the ONNX model computes what training saw.
    const golden = parseGolden(bundle, BUNDLE_FILES.golden, names, at, details);
    const both = manifest.trading_params.side === 'both';
    if (both && manifest.trading_params.short_edge_threshold_bps === undefined) {
      throw new ManifestInvalidError(`${at}: a side 'both' model needs trading_params.short_edge_threshold_bps`, details);
    }
    const shortGolden = both ? parseGolden(bundle, BUNDLE_FILES.goldenShort, names, at, details) : null;
    const shortEdgeNative = both ? parseNative(bundle, BUNDLE_FILES.nativeShort, names, at, details) : null;
    const shortConfNative = both ? parseNative(bundle, BUNDLE_FILES.confidenceShort, names, at, details) : null;

    const sessions: OrtModule.InferenceSession[] = [];
    try {
      const edge = await createOnnxSession(bundle.files.get('model.onnx')!, `${at}: model.onnx`, opts);
      sessions.push(edge.session);
      const edgeOnnx = onnxPart(edge.session, names.length, 'model.onnx', 'edge', at, details);
      let confOnnx: OnnxPart | null = null;
      const confBytes = bundle.files.get('confidence.onnx');
      if (confBytes && edgeOnnx.confidence === null) {
        const conf = await createOnnxSession(confBytes, `${at}: confidence.onnx`, { ...opts, provider: edge.provider === 'cuda' ? 'cuda' : 'cpu' });
        sessions.push(conf.session);
        confOnnx = onnxPart(conf.session, names.length, 'confidence.onnx', 'confidence', at, details);
      }
      let report = await checkGolden(edgeOnnx, confOnnx, golden, edgeNative, confNative, at, details, { golden: BUNDLE_FILES.golden, onnx: BUNDLE_FILES.onnx, native: BUNDLE_FILES.native, confidence: BUNDLE_FILES.confidence });
      let short: ShortSide | null = null;
      if (both) {
        const bytes = bundle.files.get(BUNDLE_FILES.onnxShort);
        if (!bytes) throw new ManifestInvalidError(`${at}: a side 'both' model needs ${BUNDLE_FILES.onnxShort}`, { ...details, file: BUNDLE_FILES.onnxShort });
        const s = await createOnnxSession(bytes, `${at}: ${BUNDLE_FILES.onnxShort}`, { ...opts, provider: edge.provider === 'cuda' ? 'cuda' : 'cpu' });
        sessions.push(s.session);
        const onnx = onnxPart(s.session, names.length, BUNDLE_FILES.onnxShort, 'edge', at, details);
        const r = await checkGolden(onnx, null, shortGolden!, shortEdgeNative, shortConfNative, at, details, { golden: BUNDLE_FILES.goldenShort, onnx: BUNDLE_FILES.onnxShort, native: BUNDLE_FILES.nativeShort, confidence: BUNDLE_FILES.confidenceShort });
        report = {
          rows: report.rows + r.rows,
          onnx_max_rel_error: Math.max(report.onnx_max_rel_error, r.onnx_max_rel_error),
          native_max_rel_error: report.native_max_rel_error === null || r.native_max_rel_error === null ? null : Math.max(report.native_max_rel_error, r.native_max_rel_error),
          tolerance: report.tolerance,
        };
        short = { onnx, edgeNative: shortEdgeNative, confNative: shortConfNative };
      }
      return new LiveModel({ bundle, manifest, provider: edge.provider, providerNote: edge.fallbackReason, inputIndex, edgeOnnx, confOnnx, edgeNative, confNative, golden: report, allowExpired: opts.allowExpired === true, short });
    } catch (err) {
      for (const s of sessions) await s.release().catch(() => undefined);
      throw err;
    }
  }

  /** `load` for a trading agent (family ppo): `model.json` is the agent, `model.onnx` its policy graph, `golden.json` policy rows. */
  private static async loadAgent(bundle: FetchedBundle, opts: OnnxSessionOptions & ModelGuardOptions, inputIndex: Int32Array, at: string, details: Record<string, unknown>): Promise<LiveModel> {
    const manifest = bundle.manifest;
    const names = manifest.feature_names;
    checkAgentManifest(manifest, at, details);
    const agent = parseAgent(bundle, names, at, details);
    const golden = parsePolicyGolden(bundle, names, at, details);
    const bytes = bundle.files.get(BUNDLE_FILES.onnx);
    if (!bytes) throw new ManifestInvalidError(`${at}: the bundle has no ${BUNDLE_FILES.onnx}`, { ...details, file: BUNDLE_FILES.onnx });
    const s = await createOnnxSession(bytes, `${at}: ${BUNDLE_FILES.onnx}`, opts);
    try {
      const onnx = policyOnnxPart(s.session, agent.observationSize, at, details);
      const report = await checkPolicyGolden(agent, onnx, golden, at, details);
      return new LiveModel({
        bundle,
        manifest,
        provider: s.provider,
        providerNote: s.fallbackReason,
        inputIndex,
        edgeOnnx: null,
        confOnnx: null,
        agent: { agent, onnx },
        edgeNative: null,
        confNative: null,
        golden: report,
        allowExpired: opts.allowExpired === true,
        short: null,
      });
    } catch (err) {
      await s.session.release().catch(() => undefined);
      throw err;
    }
  }
}

/** A `ppo` bundle's `model.json`: the agent, over the manifest's features in order. */
function parseAgent(bundle: FetchedBundle, names: readonly string[], at: string, details: Record<string, unknown>): PpoAgent {
  const file = BUNDLE_FILES.native;
  const bytes = bundle.files.get(file);
  if (!bytes) throw new ManifestInvalidError(`${at}: a trading agent's bundle (model_format ${PPO_AGENT_MODEL_FORMAT}) needs ${file}, the agent itself`, { ...details, file });
  let agent: PpoAgent;
  try {
    agent = PpoAgent.parse(Buffer.from(bytes).toString('utf8'));
  } catch (err) {
    throw new ManifestInvalidError(`${at}: ${file} is not a valid trading agent (${PPO_AGENT_MODEL_FORMAT}): ${(err as Error).message}`, { ...details, file }, err);
  }
  const differ = agent.featureNames.findIndex((n, i) => n !== names[i]);
  if (agent.nFeatures !== names.length || differ >= 0) {
    const k = differ >= 0 ? differ : Math.min(agent.nFeatures, names.length);
    throw new ManifestInvalidError(
      `${at}: ${file}'s agent observes features that differ from the manifest's feature_names at input ${k}: ${JSON.stringify(agent.featureNames[k] ?? null)} vs ${JSON.stringify(names[k] ?? null)} (${agent.nFeatures} vs ${names.length} features)`,
      { ...details, file, input: k },
    );
  }
  return agent;
}

/** The agent's trading rules must be ones the live trader reproduces: long only, taker entries, funding (if any) at a constant rate. */
function checkAgentManifest(manifest: ModelManifest, at: string, details: Record<string, unknown>): void {
  const side = manifest.trading_params.side;
  if (side !== 'long' || manifest.labelling.side !== 'long') {
    throw new ManifestInvalidError(`${at}: a trading agent trades long only; the manifest says side ${side} (labelling side ${manifest.labelling.side})`, { ...details, side });
  }
  const costs = manifest.cost_model;
  if (isMakerEntry(costs)) throw new ManifestInvalidError(`${at}: a trading agent enters as a taker only; the cost model prices maker entries`, details);
  if (fundingOf(costs)?.mode === 'series') throw new ManifestInvalidError(`${at}: a trading agent prices funding at a constant rate only; the cost model reads a funding series`, details);
}

/** A `ppo` bundle's `golden.json`: policy rows, over the manifest's features, the agent's position inputs and actions. */
function parsePolicyGolden(bundle: FetchedBundle, names: readonly string[], at: string, details: Record<string, unknown>): PolicyGoldenRow[] {
  const file = BUNDLE_FILES.golden;
  const bytes = bundle.files.get(file);
  if (!bytes) throw new GoldenVectorMismatchError(`${at}: the bundle has no ${file}, so the agent cannot be checked`, { ...details, file });
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (err) {
    throw new GoldenVectorMismatchError(`${at}: ${file} is not JSON: ${(err as Error).message}`, { ...details, file });
  }
  const r = validatePolicyGolden(value);
  if (!r.ok) throw new GoldenVectorMismatchError(`${at}: ${file} is not a valid policy golden file: ${r.problems.join('; ')}`, { ...details, file, problems: r.problems });
  const g = r.golden;
  const same = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((n, i) => n === b[i]);
  if (!same(g.feature_names, names)) {
    throw new GoldenVectorMismatchError(`${at}: ${file}'s feature_names differ from the manifest's (${g.feature_names.length} vs ${names.length} inputs)`, { ...details, file });
  }
  if (!same(g.position_inputs, POSITION_INPUTS)) {
    throw new GoldenVectorMismatchError(`${at}: ${file}'s position_inputs are [${g.position_inputs.join(', ')}], the agent's are [${POSITION_INPUTS.join(', ')}]`, { ...details, file });
  }
  if (!same(g.actions, ACTION_NAMES)) throw new GoldenVectorMismatchError(`${at}: ${file}'s actions are [${g.actions.join(', ')}], the agent's are [${ACTION_NAMES.join(', ')}]`, { ...details, file });
  return g.rows;
}

function policyOnnxPart(session: OrtModule.InferenceSession, size: number, at: string, details: Record<string, unknown>): PolicyOnnxPart {
  const file = BUNDLE_FILES.onnx;
  const input = session.inputNames[0];
  const outs = session.outputNames;
  if (session.inputNames.length !== 1 || input === undefined || !outs.includes(POLICY_ONNX_OUTPUT_PROBABILITIES) || !outs.includes(POLICY_ONNX_OUTPUT_GREEDY)) {
    throw new OnnxLoadError(
      `${at}: a trading agent's ${file} must have one input and the outputs ${POLICY_ONNX_OUTPUT_PROBABILITIES} and ${POLICY_ONNX_OUTPUT_GREEDY}; has inputs [${session.inputNames.join(', ')}], outputs [${outs.join(', ')}]`,
      { ...details, file },
    );
  }
  const meta = session.inputMetadata[0];
  if (meta && meta.isTensor) {
    const last = meta.shape[meta.shape.length - 1];
    if (meta.type !== 'float32' || last !== size) {
      throw new OnnxLoadError(`${at}: ${file} input '${input}' is ${meta.type}[${meta.shape.join(', ')}], expected float32[N, ${size}] (the agent's ${size - POSITION_INPUTS.length} features and ${POSITION_INPUTS.length} position inputs)`, { ...details, file });
    }
  }
  return { session, input, size };
}

/** The policy graph on `rows` row-major float32 observations. */
async function runPolicy(part: PolicyOnnxPart, data: Float32Array, rows: number): Promise<{ probabilities: Float32Array; actions: Int32Array }> {
  const tensor = new ort.Tensor('float32', data instanceof OrtFloat32Array ? data : OrtFloat32Array.from(data), [rows, part.size]);
  const out = await part.session.run({ [part.input]: tensor });
  const probabilities = out[POLICY_ONNX_OUTPUT_PROBABILITIES]!.data as Float32Array;
  const greedy = out[POLICY_ONNX_OUTPUT_GREEDY]!.data as ArrayLike<bigint | number>;
  return { probabilities, actions: Int32Array.from({ length: rows }, (_, k) => Number(greedy[k]!)) };
}

/**
 * The policy golden vectors: the native agent must rebuild each row's observation from its
 * inputs and position and reproduce the probabilities; onnxruntime, fed the golden
 * observation, the probabilities; both must choose the row's action.
 */
async function checkPolicyGolden(agent: PpoAgent, onnx: PolicyOnnxPart, rows: PolicyGoldenRow[], at: string, details: Record<string, unknown>): Promise<GoldenReport> {
  const file = BUNDLE_FILES.golden;
  const O = agent.observationSize;
  const A = ACTION_NAMES.length;
  const fail = (k: number, output: string, predictor: string, got: number, expected: number): never => {
    const e = goldenRelativeError(got, expected);
    throw new GoldenVectorMismatchError(
      `${at}: golden vector ${k}, ${output}: ${predictor} gives ${got}, ${file} expects ${expected} (relative error ${e.toExponential(3)} > ${GOLDEN_TOLERANCE})`,
      { ...details, file, row: k, output, predictor, got, expected, relativeError: e },
    );
  };
  rows.forEach((r, k) => {
    if (r.observation.length !== O) {
      throw new GoldenVectorMismatchError(`${at}: golden vector ${k} has an observation of ${r.observation.length} values, the agent observes ${O}`, { ...details, file, row: k });
    }
  });
  const data = new OrtFloat32Array(rows.length * O);
  rows.forEach((r, k) => data.set(r.observation, k * O));
  const out = await runPolicy(onnx, data, rows.length);
  let onnxMax = 0;
  let nativeMax = 0;
  const onnxName = `onnxruntime (${BUNDLE_FILES.onnx})`;
  const nativeName = `native (${BUNDLE_FILES.native})`;
  for (let k = 0; k < rows.length; k++) {
    const r = rows[k]!;
    const x = Float64Array.from(r.inputs, (v) => (v === null ? Number.NaN : v));
    const position: PositionState = { long: r.position[0] === 1, barsHeld: r.position[1], unrealisedBps: r.position[2] };
    const obs = agent.observe(x, position);
    for (let i = 0; i < O; i++) {
      const e = goldenRelativeError(obs[i]!, r.observation[i]!);
      if (!(e <= GOLDEN_TOLERANCE)) fail(k, `observation[${i}]`, nativeName, obs[i]!, r.observation[i]!);
      nativeMax = Math.max(nativeMax, e);
    }
    const p = agent.probabilities(x, position);
    for (let a = 0; a < A; a++) {
      const expected = r.action_probabilities[a]!;
      const en = goldenRelativeError(p[a]!, expected);
      if (!(en <= GOLDEN_TOLERANCE)) fail(k, `P(${ACTION_NAMES[a]})`, nativeName, p[a]!, expected);
      nativeMax = Math.max(nativeMax, en);
      const got = out.probabilities[k * A + a]!;
      const eo = goldenRelativeError(got, expected);
      if (!(eo <= GOLDEN_TOLERANCE)) fail(k, `P(${ACTION_NAMES[a]})`, onnxName, got, expected);
      onnxMax = Math.max(onnxMax, eo);
    }
    const action = (predictor: string, got: number) => {
      if (got !== r.action) {
        throw new GoldenVectorMismatchError(`${at}: golden vector ${k}, greedy action: ${predictor} chooses ${ACTION_NAMES[got] ?? got}, ${file} expects ${ACTION_NAMES[r.action] ?? r.action}`, {
          ...details,
          file,
          row: k,
          output: 'action',
          predictor,
          got,
          expected: r.action,
        });
      }
    };
    action(nativeName, agent.act(x, position));
    action(onnxName, out.actions[k]!);
  }
  return { rows: rows.length, onnx_max_rel_error: onnxMax, native_max_rel_error: nativeMax, tolerance: GOLDEN_TOLERANCE };
}

function parseNative(bundle: FetchedBundle, file: string, names: readonly string[], at: string, details: Record<string, unknown>): PortableModel | null {
  const bytes = bundle.files.get(file);
  if (!bytes) return null;
  let model: PortableModel;
  try {
    model = parsePortableModel(Buffer.from(bytes).toString('utf8'));
  } catch (err) {
    throw new ManifestInvalidError(`${at}: ${file} is not a valid native model: ${(err as Error).message}`, { ...details, file }, err);
  }
  if (model.nFeatures !== names.length || model.featureNames.some((n, i) => n !== names[i])) {
    throw new ManifestInvalidError(`${at}: ${file} has inputs [${model.featureNames.slice(0, 5).join(', ')}, …] (${model.nFeatures}), manifest feature_names has ${names.length}`, { ...details, file });
  }
  return model;
}

function parseGolden(bundle: FetchedBundle, file: string, names: readonly string[], at: string, details: Record<string, unknown>): GoldenRow[] {
  const bytes = bundle.files.get(file);
  if (!bytes) throw new GoldenVectorMismatchError(`${at}: the bundle has no ${file}, so the model cannot be checked`, { ...details, file });
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (err) {
    throw new GoldenVectorMismatchError(`${at}: ${file} is not JSON: ${(err as Error).message}`, { ...details, file });
  }
  const r = validateGolden(value);
  if (!r.ok) throw new GoldenVectorMismatchError(`${at}: ${file} is not a valid golden file: ${r.problems.join('; ')}`, { ...details, file, problems: r.problems });
  const goldenNames = r.golden.feature_names;
  const differ = goldenNames.findIndex((n, i) => n !== names[i]);
  if (goldenNames.length !== names.length || differ >= 0) {
    const k = differ >= 0 ? differ : Math.min(goldenNames.length, names.length);
    throw new GoldenVectorMismatchError(
      `${at}: ${file}'s feature_names differ from the manifest's at input ${k}: ${JSON.stringify(goldenNames[k] ?? null)} vs ${JSON.stringify(names[k] ?? null)} (${goldenNames.length} vs ${names.length} inputs)`,
      { ...details, file, input: k },
    );
  }
  return r.golden.rows;
}

function onnxPart(session: OrtModule.InferenceSession, nFeatures: number, file: string, role: 'edge' | 'confidence', at: string, details: Record<string, unknown>): OnnxPart {
  const input = session.inputNames[0];
  const outs = session.outputNames;
  if (session.inputNames.length !== 1 || input === undefined || outs.length === 0) {
    throw new OnnxLoadError(`${at}: ${file} must have one input and an output; has inputs [${session.inputNames.join(', ')}], outputs [${outs.join(', ')}]`, { ...details, file });
  }
  const meta = session.inputMetadata[0];
  if (meta && meta.isTensor) {
    const last = meta.shape[meta.shape.length - 1];
    if (meta.type !== 'float32' || (typeof last === 'number' && last !== nFeatures)) {
      throw new OnnxLoadError(`${at}: ${file} input '${input}' is ${meta.type}[${meta.shape.join(', ')}], expected float32[N, ${nFeatures}]`, { ...details, file });
    }
  }
  // Outputs by name; a single unnamed-role output is the file's role.
  const named = (n: string): string | null => (outs.includes(n) ? n : null);
  let edge = role === 'edge' ? named(EDGE_OUTPUT) : null;
  let confidence = named(CONFIDENCE_OUTPUT);
  if (role === 'edge' && edge === null) {
    if (outs.length !== 1) {
      throw new OnnxLoadError(`${at}: ${file} has outputs [${outs.join(', ')}] and none is '${EDGE_OUTPUT}'`, { ...details, file });
    }
    edge = outs[0]!;
  }
  if (role === 'confidence' && confidence === null) {
    if (outs.length !== 1) throw new OnnxLoadError(`${at}: ${file} has outputs [${outs.join(', ')}] and none is '${CONFIDENCE_OUTPUT}'`, { ...details, file });
    confidence = outs[0]!;
  }
  return { session, input, edge, confidence };
}

/** Run the edge (and a separate confidence) session on `rows` row-major float32 rows of F inputs. */
async function runOnnxParts(edgePart: OnnxPart, confPart: OnnxPart | null, data: Float32Array, rows: number, F: number): Promise<{ edge: Float32Array; confidence: Float32Array | null }> {
  // A Float32Array of another context (a VM sandbox) would fail onnxruntime's type check.
  const tensor = new ort.Tensor('float32', data instanceof OrtFloat32Array ? data : OrtFloat32Array.from(data), [rows, F]);
  const e = await edgePart.session.run({ [edgePart.input]: tensor });
  const edge = e[edgePart.edge!]!.data as Float32Array;
  let confidence: Float32Array | null = edgePart.confidence ? (e[edgePart.confidence]!.data as Float32Array) : null;
  if (confidence === null && confPart) {
    const c = await confPart.session.run({ [confPart.input]: tensor });
    confidence = c[confPart.confidence!]!.data as Float32Array;
  }
  return { edge, confidence };
}

async function checkGolden(
  edgeOnnx: OnnxPart,
  confOnnx: OnnxPart | null,
  rows: GoldenRow[],
  edgeNative: PortableModel | null,
  confNative: PortableModel | null,
  at: string,
  details: Record<string, unknown>,
  files: { golden: string; onnx: string; native: string; confidence: string },
): Promise<GoldenReport> {
  const F = rows[0]!.inputs.length;
  const data = new OrtFloat32Array(rows.length * F);
  const inputs = rows.map((r) => Float64Array.from(r.inputs, (v) => (v === null ? Number.NaN : v)));
  inputs.forEach((x, k) => data.set(x, k * F));
  const out = await runOnnxParts(edgeOnnx, confOnnx, data, rows.length, F);
  let onnxMax = 0;
  let nativeMax = edgeNative ? 0 : null;
  const fail = (k: number, output: string, predictor: string, got: number, expected: number): never => {
    const e = goldenRelativeError(got, expected);
    throw new GoldenVectorMismatchError(
      `${at}: golden vector ${k}, output ${output}: ${predictor} gives ${got}, ${files.golden} expects ${expected} (relative error ${e.toExponential(3)} > ${GOLDEN_TOLERANCE})`,
      { ...details, file: files.golden, row: k, output, predictor, got, expected, relativeError: e },
    );
  };
  for (let k = 0; k < rows.length; k++) {
    const r = rows[k]!;
    const checks: [string, string, number, number][] = [['predicted_edge_bps', `onnxruntime (${files.onnx})`, out.edge[k]!, r.predicted_edge_bps]];
    if (out.confidence) {
      checks.push(['confidence', `onnxruntime (${edgeOnnx.confidence ? files.onnx : 'confidence.onnx'})`, out.confidence[k]!, r.confidence]);
    }
    if (edgeNative) checks.push(['predicted_edge_bps', `native (${files.native})`, edgeNative.predictRow(inputs[k]!), r.predicted_edge_bps]);
    if (confNative) checks.push(['confidence', `native (${files.confidence})`, confNative.predictRow(inputs[k]!), r.confidence]);
    for (const [output, predictor, got, expected] of checks) {
      const e = goldenRelativeError(got, expected);
      if (!(e <= GOLDEN_TOLERANCE)) fail(k, output, predictor, got, expected);
      if (predictor.startsWith('native')) nativeMax = Math.max(nativeMax ?? 0, e);
      else onnxMax = Math.max(onnxMax, e);
    }
  }
  return { rows: rows.length, onnx_max_rel_error: onnxMax, native_max_rel_error: nativeMax, tolerance: GOLDEN_TOLERANCE };
}
