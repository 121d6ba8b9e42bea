/**
 * What a training job produces and the sync worker publishes: the hand-off contract
 * between `packages/training` (which builds it, purely) and the registry / Dropbox /
 * consumer (which store and read it). The full ModelManifest (SPEC §2) is defined and
 * schema'd in packages/training; this is the part everyone else relies on.
 */
export interface GateResult {
  name: string;
  value: number | null;
  bound: number | null;
  /** `>=` or `<=`: how value is compared with bound. */
  op: '>=' | '<=';
  passed: boolean;
  note?: string;
}

export interface ManifestCore {
  model_id: string;
  created_at: string;
  symbol: string;
  run_date: string;
  feature_recipe: { version: string; hash: string; names: string[] };
  metrics: {
    total_trades: number;
    wins: number;
    losses: number;
    win_rate: number;
    total_profit_gbp: number;
    sharpe_ratio: number;
    profit_factor: number;
    max_drawdown: number;
    [k: string]: unknown;
  };
  gates: { passed: boolean; median_source: 'registry' | 'folds'; results: GateResult[] };
  /** file name → SHA-256 hex of its bytes, for every file of the bundle except manifest.json. */
  artifacts: Record<string, string>;
  [k: string]: unknown;
}

export interface BundleFile {
  name: string;
  bytes: Uint8Array;
}

export interface ModelBundle {
  manifest: ManifestCore;
  /** model.onnx, model.json, golden.json, folds.json, equity.json, … (manifest.json is derived). */
  files: BundleFile[];
}

/** Bundle file names every consumer may rely on. */
export const BUNDLE_FILES = {
  onnx: 'model.onnx',
  native: 'model.json',
  manifest: 'manifest.json',
  golden: 'golden.json',
  latest: 'latest.json',
} as const;
