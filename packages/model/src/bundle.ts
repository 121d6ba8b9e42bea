import { z } from 'zod';
import type { ManifestCore } from './manifest/manifest';

/**
 * A model bundle: what a training job produces and the sync worker publishes, the hand-off
 * between packages/training (which builds it, purely) and the registry, the publisher and
 * the consumer (which store, publish and read it).
 */
export interface BundleFile {
  name: string;
  bytes: Uint8Array;
}

export interface ModelBundle {
  manifest: ManifestCore;
  /** model.onnx, model.json, golden.json, folds.json, equity.json, … (manifest.json is derived). */
  files: BundleFile[];
}

/** Bundle file names every reader may rely on. */
export const BUNDLE_FILES = {
  onnx: 'model.onnx',
  native: 'model.json',
  confidence: 'confidence.json',
  manifest: 'manifest.json',
  golden: 'golden.json',
  folds: 'folds.json',
  equity: 'equity.json',
  importance: 'importance.json',
  latest: 'latest.json',
  /** `side: both` bundles: the short side's edge + confidence (ONNX), its native trees and golden vectors. */
  onnxShort: 'model-short.onnx',
  nativeShort: 'model-short.json',
  confidenceShort: 'confidence-short.json',
  goldenShort: 'golden-short.json',
} as const;

/** A model's verdict: published models can go live; rejected ones are kept with reasons. */
export type Verdict = 'published' | 'rejected';

/** The `latest.json` pointer: the symbol's live model and where its files are. Written last. */
export const latestPointerSchema = z
  .object({
    schema: z.literal(1),
    symbol: z.string(),
    model_id: z.string().min(1),
    run_date: z.string(),
    created_at: z.string(),
    feature_recipe: z.object({ version: z.string(), hash: z.string() }),
    /** Bundle file name (`model.onnx`, `manifest.json`, …) → path, SHA-256, content hash, size. */
    files: z.record(
      z.string(),
      z.object({
        path: z.string().min(1),
        sha256: z.string().regex(/^[0-9a-f]{64}$/, 'expected a SHA-256 hex digest'),
        content_hash: z.string(),
        bytes: z.number().int().min(0),
      }),
    ),
    /**
     * Set when live monitoring demoted this model (issue 19): the symbol has no live model;
     * consumers stop entering with it. Absent on a live model's pointer.
     */
    demoted: z
      .object({ at: z.string(), rule: z.string(), value: z.number(), bound: z.number(), detail: z.string() })
      .strict()
      .optional(),
  });
export type LatestPointer = z.infer<typeof latestPointerSchema>;
