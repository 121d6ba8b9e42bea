import { BUNDLE_FILES, DEFAULT_PUBLISH_ROOT, bundleFiles, bundlePath, pointerPath, sha256Hex, type LatestPointer, type ModelBundle, type Verdict } from '@engine/model';
import { PermanentError, TransientError, type Logger } from '@engine/shared';
import { dropboxContentHash } from './content-hash';
import type { PublishableModel, PublishedFile, RemoteFiles } from './types';

/** Upload order: extra files first, then the model, then its metadata; the pointer goes separately and last. */
function uploadRank(name: string): number {
  if (name === BUNDLE_FILES.onnx) return 1;
  if (name === BUNDLE_FILES.manifest) return 2;
  return 0;
}

/**
 * Writes bundles and `latest.json` pointers in the one layout (see `bundlePath`) to a
 * publish target (Dropbox or a folder). Idempotent: a file whose remote content hash
 * already equals ours is not sent again, so a repeated publish uploads nothing.
 */
export class Publisher {
  readonly root: string;

  constructor(
    readonly files: RemoteFiles,
    opts: { root?: string; logger?: Logger } = {},
  ) {
    this.root = (opts.root ?? DEFAULT_PUBLISH_ROOT).replace(/\/+$/, '');
    if (!this.root.startsWith('/')) throw new PermanentError('PUBLISH_ROOT_INVALID', `publish root '${this.root}' must be an absolute path such as /Runpodhuracan`);
    this.logger = opts.logger;
  }

  private readonly logger: Logger | undefined;

  /** `dropbox:/Runpodhuracan` or `folder:/data/publish:/Runpodhuracan`, for logs and the publish log. */
  target(): string {
    return `${this.files.describe()}:${this.root}`;
  }

  /** Upload `bytes` to `path` unless identical bytes are already there. */
  private async put(path: string, bytes: Uint8Array): Promise<{ contentHash: string; uploaded: boolean }> {
    const contentHash = dropboxContentHash(bytes);
    if ((await this.files.contentHash(path)) === contentHash) return { contentHash, uploaded: false };
    const stored = await this.files.upload(path, bytes);
    if (stored.contentHash !== contentHash) {
      throw new TransientError('PUBLISH_HASH_MISMATCH', `${this.files.describe()} stored ${path} with content hash ${stored.contentHash}, expected ${contentHash}`, { path });
    }
    return { contentHash, uploaded: true };
  }

  /**
   * Publish every file of a (hash-verified) bundle: a published model under
   * `YYYY-MM-DD/models/`, a rejected one under `YYYY-MM-DD/rejected/`. Does not touch
   * `latest.json`.
   */
  async publishBundle(bundle: ModelBundle, verdict: Verdict): Promise<{ files: Record<string, PublishedFile>; uploaded: number; unchanged: number }> {
    const m = bundle.manifest;
    const ordered = bundleFiles(bundle).sort((a, b) => uploadRank(a.name) - uploadRank(b.name) || a.name.localeCompare(b.name));
    const out: Record<string, PublishedFile> = {};
    let uploaded = 0;
    for (const f of ordered) {
      const path = bundlePath(this.root, m.symbol, m.run_date, f.name, verdict);
      const r = await this.put(path, f.bytes);
      if (r.uploaded) uploaded++;
      out[f.name] = { path, sha256: sha256Hex(f.bytes), contentHash: r.contentHash, bytes: f.bytes.length };
    }
    this.logger?.info({ modelId: m.model_id, symbol: m.symbol, verdict, uploaded, unchanged: ordered.length - uploaded, target: this.target() }, 'bundle published');
    return { files: out, uploaded, unchanged: ordered.length - uploaded };
  }

  /** The pointer for a synced, published model (deterministic: the same model gives the same bytes). */
  pointerFor(model: PublishableModel): LatestPointer {
    if (model.verdict !== 'published' || model.publishedFiles === null) {
      throw new PermanentError('POINTER_INVALID', `latest.json can only name a published, synced model; ${model.id} (${model.symbol} ${model.runDate}) is ${model.verdict}${model.publishedFiles === null ? ', not synced' : ''}`, { modelId: model.id });
    }
    const files: LatestPointer['files'] = {};
    for (const name of Object.keys(model.publishedFiles).sort()) {
      const f = model.publishedFiles[name]!;
      files[name] = { path: f.path, sha256: f.sha256, content_hash: f.contentHash, bytes: f.bytes };
    }
    return {
      schema: 1,
      symbol: model.symbol,
      model_id: model.id,
      run_date: model.runDate,
      created_at: model.createdAt,
      feature_recipe: { version: model.recipeVersion, hash: model.recipeHash },
      files,
    };
  }

  /** Write the symbol's `latest.json` (after the model's files). `unchanged` when it already says this. */
  async publishPointer(pointer: LatestPointer): Promise<{ path: string; result: 'updated' | 'unchanged' }> {
    const path = pointerPath(this.root, pointer.symbol);
    const r = await this.put(path, Buffer.from(`${JSON.stringify(pointer, null, 2)}\n`, 'utf8'));
    if (r.uploaded) this.logger?.info({ symbol: pointer.symbol, modelId: pointer.model_id, path }, 'latest.json updated');
    return { path, result: r.uploaded ? 'updated' : 'unchanged' };
  }

  /** Read a symbol's published pointer (null when none). */
  async readPointer(symbol: string): Promise<LatestPointer | null> {
    const bytes = await this.files.download(pointerPath(this.root, symbol));
    return bytes === null ? null : (JSON.parse(Buffer.from(bytes).toString('utf8')) as LatestPointer);
  }
}
