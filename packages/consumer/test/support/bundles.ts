import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FolderFiles, Publisher, type RemoteFiles } from '@engine/publish';
import { sha256Hex, type LatestPointer, type ModelBundle } from '@engine/model';
import type { CandleSeries } from '@engine/shared';
import { plantedMarket, trainSymbol, type TrainConfigOverrides, type TrainedModelBundle, type TrainSymbolInput } from '@engine/training';

/** A synthetic symbol for the planted market (its reference series is BTC/USDT). */
export const SYN = 'SYN/USDT';

/** Small, fast training settings: the consumer's tests need real bundles, not good models. */
export const FAST_TRAINING: TrainConfigOverrides = {
  walk_forward: { train_days: 6, test_days: 2, step_days: 2 },
  threshold: { calibration_days: 2, min_trades: 3 },
  model: { nEstimators: 40, maxDepth: 4 },
  confidence_model: { nEstimators: 20, maxDepth: 3 },
  golden_rows: 24,
};

export interface TrainedFixture {
  bundle: TrainedModelBundle;
  candles: CandleSeries;
  reference: CandleSeries;
}

/** SHA-256 over the sources that decide what `trainSymbol` produces (shared, features, model, gbdt, ensemble, training). */
function pipelineSourceHash(): string {
  const h = createHash('sha256');
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const p = path.join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name.endsWith('.ts')) h.update(p).update(readFileSync(p));
    }
  };
  for (const pkg of ['shared', 'features', 'model', 'gbdt', 'ensemble', 'training']) walk(path.resolve(__dirname, '..', '..', '..', pkg, 'src'));
  return h.digest('hex');
}

interface CachedBundle {
  manifest: TrainedModelBundle['manifest'];
  folds: TrainedModelBundle['folds'];
  trial: TrainedModelBundle['trial'];
  files: { name: string; b64: string }[];
}

function hashSeries(h: ReturnType<typeof createHash>, c: CandleSeries): void {
  h.update(c.symbol);
  for (const a of [c.ts, c.open, c.high, c.low, c.close, c.volume, c.gap]) h.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
}

/**
 * `trainSymbol` (threads: 1), with the bundle kept in the OS temp folder: several test
 * files train the same fixtures, so a bundle is stored under a key covering the candles,
 * the settings and every source file of the pipeline — any change retrains.
 */
export async function trainCached(input: TrainSymbolInput, overrides: TrainConfigOverrides): Promise<TrainedModelBundle> {
  const h = createHash('sha256');
  hashSeries(h, input.candles);
  if (input.reference) hashSeries(h, input.reference);
  h.update(JSON.stringify({ symbol: input.symbol, runDate: input.runDate, now: input.now?.toISOString() ?? null, overrides, src: pipelineSourceHash() }));
  const cacheDir = path.join(os.tmpdir(), 'engine-consumer-fixtures');
  const file = path.join(cacheDir, `${h.digest('hex').slice(0, 24)}.json`);
  try {
    const c = JSON.parse(readFileSync(file, 'utf8')) as CachedBundle;
    return { manifest: c.manifest, folds: c.folds, trial: c.trial, files: c.files.map((f) => ({ name: f.name, bytes: new Uint8Array(Buffer.from(f.b64, 'base64')) })) };
  } catch {
    // not cached yet (or unreadable): train
  }
  const bundle = await trainSymbol(input, overrides, { threads: 1 });
  mkdirSync(cacheDir, { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  const cached: CachedBundle = { manifest: bundle.manifest, folds: bundle.folds, trial: bundle.trial, files: bundle.files.map((f) => ({ name: f.name, b64: Buffer.from(f.bytes).toString('base64') })) };
  writeFileSync(tmp, JSON.stringify(cached));
  renameSync(tmp, file);
  return bundle;
}

/**
 * Train a real bundle with the training pipeline on a seeded planted market (a learnable
 * edge, so thresholds are met and trades happen). Deterministic in `seed`.
 */
export async function trainPlanted(opts: { seed: number; days?: number; runDate?: string; overrides?: TrainConfigOverrides }): Promise<TrainedFixture> {
  const days = opts.days ?? 10;
  const runDate = opts.runDate ?? '2026-01-11';
  const { candles, reference } = plantedMarket({ days, seed: opts.seed, start: Date.UTC(2026, 0, 1), symbol: SYN });
  const bundle = await trainCached({ symbol: SYN, runDate, candles, reference, now: new Date(`${runDate}T02:00:00Z`) }, { ...FAST_TRAINING, ...(opts.overrides ?? {}) });
  return { bundle, candles, reference };
}

/**
 * Publish a bundle the way the sync worker does (the registry's Publisher: every file in
 * the layout, then `latest.json`) to a publish target.
 */
export async function publish(files: RemoteFiles, bundle: ModelBundle): Promise<LatestPointer> {
  const pub = new Publisher(files);
  const m = bundle.manifest;
  const r = await pub.publishBundle(bundle, 'published');
  const pointer = pub.pointerFor({
    id: m.model_id,
    symbol: m.symbol,
    runDate: m.run_date,
    createdAt: m.created_at,
    recipeVersion: m.feature_recipe.version,
    recipeHash: m.feature_recipe.hash,
    publishedFiles: r.files,
    verdict: 'published',
  });
  await pub.publishPointer(pointer);
  return pointer;
}

/** A temporary publish folder, removed by `cleanup`. */
export function tempPublishFolder(): { dir: string; files: FolderFiles; cleanup: () => void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'engine-consumer-'));
  return { dir, files: new FolderFiles(dir), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * A copy of `bundle` with one file's bytes changed. `rehash: true` also updates the
 * manifest's SHA-256 for it (a consistent but broken bundle, so the later checks must
 * catch it); `false` leaves the manifest as it was (the hash check must catch it).
 */
export function alterFile(bundle: ModelBundle, name: string, change: (bytes: Uint8Array) => Uint8Array, opts: { rehash: boolean; modelId?: string }): ModelBundle {
  const files = bundle.files.map((f) => (f.name === name ? { name, bytes: change(f.bytes) } : f));
  if (!files.some((f) => f.name === name)) throw new Error(`bundle has no ${name}`);
  const artifacts = { ...bundle.manifest.artifacts };
  if (opts.rehash) artifacts[name] = sha256Hex(files.find((f) => f.name === name)!.bytes);
  return { manifest: { ...bundle.manifest, artifacts, model_id: opts.modelId ?? bundle.manifest.model_id }, files };
}

/** A copy of `bundle` with manifest fields changed (artifact hashes stay right). */
export function alterManifest(bundle: ModelBundle, change: (m: Record<string, unknown>) => void): ModelBundle {
  const manifest = structuredClone(bundle.manifest) as unknown as Record<string, unknown>;
  change(manifest);
  return { manifest: manifest as unknown as ModelBundle['manifest'], files: bundle.files };
}

/** A fresh random-looking model id (uuid layout), distinct per label. */
export function modelIdFor(label: string): string {
  const h = sha256Hex(Buffer.from(label));
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/**
 * Fixture bundles are trained on early-2026 dates (long expired) with a few trees (most
 * fail the production gates): tests of everything but the freshness rules open them with
 * both refusals lifted, as a research replay would. The refusals themselves are tested in
 * test/consumer-open-model.test.ts.
 */
export const FIXTURE_GUARDS = { allowRejected: true, allowExpired: true } as const;
