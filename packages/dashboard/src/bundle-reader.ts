import type { ArtifactStore, ModelDetail } from '@engine/registry';
import type { RemoteFiles } from '@engine/publish';
import { BUNDLE_FILES, sha256Hex } from '@engine/model';

/** Bundle files the dashboard reads (plot and table data). */
export const PLOT_FILES = [BUNDLE_FILES.equity, BUNDLE_FILES.folds, BUNDLE_FILES.importance] as const;

/** Where a model's files are read from: the staging store while staged, the publish target once synced. */
export interface BundleSources {
  store?: ArtifactStore;
  published?: RemoteFiles;
}

export type BundleRead = { files: Map<string, Uint8Array>; error: null } | { files: null; error: string };

/**
 * Reads the few small files the model page plots from a model's bundle, verifying each
 * against the manifest's SHA-256. The staging store is tried first (training workers
 * leave bundles there); after a sync prunes it, the published copy (Dropbox or the
 * publish folder) is read via the model's `published_files`. Bundles never change, so
 * the last 32 reads are cached.
 */
export class BundleReader {
  private readonly cache = new Map<string, Map<string, Uint8Array>>();

  constructor(private readonly sources: BundleSources, private readonly cacheSize = 32) {}

  /** File names worth reading for this model: the plot files it has. */
  static wanted(model: ModelDetail): string[] {
    return Object.keys(model.manifest.artifacts ?? {}).filter((n) => (PLOT_FILES as readonly string[]).includes(n));
  }

  /** The plot files of `model`, or why they cannot be had (never throws: the page shows the reason). */
  async read(model: ModelDetail): Promise<BundleRead> {
    try {
      return await this.readUncached(model);
    } catch (err) {
      return { files: null, error: `reading the bundle failed: ${(err as Error).message}` };
    }
  }

  private async readUncached(model: ModelDetail): Promise<BundleRead> {
    const hit = this.cache.get(model.id);
    if (hit !== undefined) {
      this.cache.delete(model.id);
      this.cache.set(model.id, hit);
      return { files: hit, error: null };
    }
    const wanted = BundleReader.wanted(model);
    const tried: string[] = [];
    let files: Map<string, Uint8Array> | null = null;
    const { store, published } = this.sources;
    if (store !== undefined) {
      if (await store.has(model.location)) {
        const bundle = await store.get(model.location);
        files = new Map(bundle.files.filter((f) => wanted.includes(f.name)).map((f) => [f.name, f.bytes]));
      } else {
        tried.push(`not in the staging store (${store.kind}, key ${model.location})`);
      }
    }
    if (files === null && published !== undefined) {
      if (model.publishedFiles !== null) {
        files = new Map();
        for (const name of wanted) {
          const at = model.publishedFiles[name];
          if (at === undefined) continue;
          const bytes = await published.download(at.path);
          if (bytes === null) return { files: null, error: `${name} is listed as published at ${at.path} but ${published.describe()} has no such file` };
          const sha = sha256Hex(bytes);
          const want = model.manifest.artifacts[name];
          if (sha !== want) return { files: null, error: `${name} at ${at.path} has SHA-256 ${sha}, the manifest says ${want ?? 'nothing'}: the published copy is corrupt` };
          files.set(name, bytes);
        }
      } else {
        tried.push(`not published yet (sync state ${model.syncState}${model.lastSyncError ? `: ${model.lastSyncError}` : ''})`);
      }
    }
    if (files === null) {
      return { files: null, error: tried.length > 0 ? `the bundle could not be found: ${tried.join('; ')}` : 'the dashboard has no access to bundles (no staging store or publish target configured)' };
    }
    this.cache.set(model.id, files);
    if (this.cache.size > this.cacheSize) this.cache.delete(this.cache.keys().next().value!);
    return { files, error: null };
  }
}
