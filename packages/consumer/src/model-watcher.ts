import { EventEmitter } from 'node:events';
import { EngineError, wrapError } from '@engine/shared';
import { sha256Hex } from '@engine/model';
import { parsePointer } from './bundle-fetch';
import { ModelNotFoundError, ModelRefusedError } from './errors';
import type { LiveModel } from './live-model';
import { readSourceFile, resolveSource, type ModelSource, type ModelSourceSpec } from './model-source';
import { openFromPointer, type OpenModelOptions } from './open-model';

/** What one poll found. */
export type PollOutcome =
  /** `latest.json` names the model in use (or one already refused): nothing to do. */
  | { kind: 'unchanged'; modelId: string | null }
  /** A new model passed every check and is now current. */
  | { kind: 'swapped'; previous: string | null; modelId: string }
  /** The new model was refused; the current one stays. */
  | { kind: 'refused'; modelId: string | null; error: ModelRefusedError }
  /** The source could not be read (network, 5xx); tried again at the next poll. */
  | { kind: 'fetch_failed'; error: EngineError }
  /** `latest.json` now says the model in use was demoted: it stays loaded (exits still followed) but no longer enters. */
  | { kind: 'demoted'; modelId: string };

/** Events a `ModelWatcher` emits (also passed to `onEvent`). */
export interface ModelWatcherEvents {
  /** A new model is current. `previous` is closed once its in-flight predictions finish. */
  swapped: [{ model: LiveModel; previous: LiveModel | null }];
  /** A published model was refused and not used; `keeping` is the model still in use. */
  refused: [{ modelId: string | null; error: ModelRefusedError; keeping: LiveModel | null }];
  /** The source could not be read this time. */
  fetch_failed: [{ error: EngineError }];
  /** `latest.json` says live monitoring demoted the current model: traders stop entering with it. */
  demoted: [{ model: LiveModel; rule: string; detail: string }];
}

export interface ModelWatcherOptions extends OpenModelOptions {
  symbol: string;
  source: ModelSourceSpec;
  /** Poll interval, ms. Default 60 000 (models change once a day; latest.json is tiny). */
  intervalMs?: number;
  /** Called for every event, in addition to the EventEmitter events. */
  onEvent?: <K extends keyof ModelWatcherEvents>(event: K, ...args: ModelWatcherEvents[K]) => void;
}

/**
 * Keeps a symbol's live model current. It polls the symbol's `latest.json`; when the
 * pointer changes it downloads, verifies and loads the new model in the background (hash
 * checks, recipe hash, golden vectors, ONNX load) and only then makes it current: a
 * single assignment, so a reader that took `current()` at the start of a candle keeps
 * using that model for the whole candle, and the next candle sees the new one. A broken
 * model (truncated ONNX, wrong hash, other recipe, failing golden vectors) is refused,
 * reported through `refused`, and the current model stays. So is a file that is not
 * safe to read (a symlink, a FIFO, a path out of the root, a size other than declared:
 * `UnsafeModelFileError`); those reads never block, so a poll always ends. A refused
 * pointer is not downloaded again until `latest.json` changes.
 */
export class ModelWatcher extends EventEmitter<ModelWatcherEvents> {
  readonly symbol: string;
  readonly intervalMs: number;
  private readonly source: ModelSource;
  private readonly opts: ModelWatcherOptions;
  private model: LiveModel | null = null;
  /** SHA-256 of the pointer bytes last acted on (loaded or refused). */
  private pointerSha: string | null = null;
  private timer: NodeJS.Timeout | null = null;
  private polling: Promise<PollOutcome> | null = null;
  private stopped = false;

  constructor(opts: ModelWatcherOptions) {
    super();
    this.symbol = opts.symbol;
    this.intervalMs = opts.intervalMs ?? 60_000;
    if (!(this.intervalMs >= 10)) throw new RangeError(`intervalMs must be ≥ 10, got ${this.intervalMs}`);
    this.source = resolveSource(opts.source);
    this.opts = opts;
  }

  /** The model in use now (null before the first successful load). */
  current(): LiveModel | null {
    return this.model;
  }

  /**
   * Load the current published model (throws its refusal when it cannot be used: a live
   * trader must not start on a broken model) and start polling.
   */
  async start(): Promise<LiveModel> {
    const first = await this.poll();
    if (first.kind === 'refused' || first.kind === 'fetch_failed') throw first.error;
    if (!this.model) throw new ModelNotFoundError(`no model for ${this.symbol} after the first poll`, { symbol: this.symbol });
    this.schedule();
    return this.model;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.poll().finally(() => this.schedule());
    }, this.intervalMs);
    this.timer.unref();
  }

  /** Poll once now. Concurrent calls share one poll. Never throws: the outcome says what happened. */
  poll(): Promise<PollOutcome> {
    if (!this.polling) {
      this.polling = this.pollOnce().finally(() => {
        this.polling = null;
      });
    }
    return this.polling;
  }

  private async pollOnce(): Promise<PollOutcome> {
    const where = this.source.pointerPath(this.symbol);
    let pointerModelId: string | null = null;
    let sha: string | null = null;
    try {
      const bytes = await readSourceFile(this.source, where);
      if (bytes === null) {
        throw new ModelNotFoundError(`no published model for ${this.symbol}: ${this.source.files.describe()} has no ${where}`, { symbol: this.symbol, pointer: where });
      }
      sha = sha256Hex(bytes);
      if (sha === this.pointerSha) return { kind: 'unchanged', modelId: this.model?.modelId ?? null };
      const pointer = parsePointer(bytes, this.symbol, where);
      pointerModelId = pointer.model_id;
      if (this.model && pointer.model_id === this.model.modelId) {
        this.pointerSha = sha;
        if (pointer.demoted !== undefined && this.model.demoted === null && this.opts.allowDemoted !== true) {
          this.model.markDemoted(pointer.demoted);
          this.emitEvent('demoted', { model: this.model, rule: pointer.demoted.rule, detail: pointer.demoted.detail });
          return { kind: 'demoted', modelId: this.model.modelId };
        }
        return { kind: 'unchanged', modelId: this.model.modelId };
      }
      const next = await openFromPointer(this.source, this.symbol, pointer, `${this.source.files.describe()} ${where}`, this.opts);
      this.pointerSha = sha;
      if (this.stopped) {
        await next.close();
        return { kind: 'unchanged', modelId: this.model?.modelId ?? null };
      }
      const previous = this.model;
      this.model = next;
      this.emitEvent('swapped', { model: next, previous });
      if (previous) void previous.close();
      return { kind: 'swapped', previous: previous?.modelId ?? null, modelId: next.modelId };
    } catch (err) {
      if (err instanceof ModelRefusedError) {
        // The same pointer would be refused the same way: skip it until latest.json
        // changes. A missing file may still be uploading, so that one is retried.
        if (sha !== null && !(err instanceof ModelNotFoundError)) this.pointerSha = sha;
        this.emitEvent('refused', { modelId: pointerModelId, error: err, keeping: this.model });
        return { kind: 'refused', modelId: pointerModelId, error: err };
      }
      const error = err instanceof EngineError ? err : wrapError(err, `polling ${where} for ${this.symbol}`, { symbol: this.symbol });
      this.emitEvent('fetch_failed', { error });
      return { kind: 'fetch_failed', error };
    }
  }

  private emitEvent<K extends keyof ModelWatcherEvents>(event: K, ...args: ModelWatcherEvents[K]): void {
    this.opts.onEvent?.(event, ...args);
    // EventEmitter throws on an unhandled 'error' only; these names are safe to emit unheard.
    (this.emit as (e: string, ...a: unknown[]) => boolean)(event, ...args);
  }

  /** Stop polling and close the current model. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.polling?.catch(() => undefined);
    const m = this.model;
    this.model = null;
    if (m) await m.close();
  }
}
