import { createHash } from 'node:crypto';
import { DataError } from '@engine/shared';
import { GBDT_MODEL_FORMAT } from '@engine/gbdt';
import { canonicalJson } from './trial';
import type { FitInit, FitJob, FitResult } from './fold-pool';
import { ENGINE_VERSION } from './version';

/**
 * A content-addressed store of fold fits (issue 18): the out-of-sample predictions of a
 * walk-forward fold's model (and of an inner calibration model) under the hash of
 * everything the fit read — the spec (family, hyper-parameters, seed), the training rows'
 * feature values, targets and label timeline, the predicted rows' feature values — and of
 * the trainer that fitted it. A fit depends on nothing else (bins, inner folds and sampling
 * are computed from its own rows), so a hit is the refit's result bit for bit; anything
 * that differs (one candle inside a fold's window, a parameter, a new engine build) is a
 * different key. Final models are never cached: they are what a run publishes.
 *
 * The training package only defines the interface; the registry stores it (a table every
 * worker reaches), and a run without one fits everything.
 */
export interface FitCache {
  /** The entries present among `keys`. */
  get(keys: readonly string[]): Promise<Map<string, Uint8Array>>;
  /** Store entries; a key already present is kept (the same key is the same fit). */
  put(entries: ReadonlyMap<string, Uint8Array>): Promise<void>;
}

/** What a run's cache did: fits served from it and fits computed (and stored). */
export interface FitCacheStats {
  hits: number;
  misses: number;
}

const FORMAT = 'engine-fit-cache/1';

/**
 * The content address of a fit job: SHA-256 over the format, the trainer (engine version,
 * GBDT model format, git commit when known), the spec, the feature names, and per training
 * row its signal time, label end, target and features, per predicted row its signal time
 * and features.
 */
export function fitKey(job: FitJob, data: FitInit, trainer: string): string {
  const h = createHash('sha256');
  h.update(`${FORMAT}\n${trainer}\n${canonicalJson(job.spec)}\n${data.names.join(',')}\n${job.rows.length}/${job.predict.length}\n`);
  const F = data.columns.length;
  const hashRows = (rows: Int32Array, training: boolean): void => {
    const width = (training ? 3 : 1) + F;
    const chunk = 4096;
    const buf = new Float64Array(chunk * width);
    for (let a = 0; a < rows.length; a += chunk) {
      const n = Math.min(chunk, rows.length - a);
      let k = 0;
      for (let r = 0; r < n; r++) {
        const i = rows[a + r]!;
        buf[k++] = data.ts[i]!;
        if (training) {
          buf[k++] = data.labelEnd[i]!;
          buf[k++] = data.target[i]!;
        }
        for (let f = 0; f < F; f++) buf[k++] = data.columns[f]![i]!;
      }
      h.update(new Uint8Array(buf.buffer, 0, k * 8));
    }
  };
  hashRows(job.rows, true);
  hashRows(job.predict, false);
  return h.digest('hex');
}

/** The trainer's part of every key: a new engine or model format (or build, when the commit is known) never reads an old fit. */
export function trainerFingerprint(gitCommit: string | null | undefined): string {
  return `${ENGINE_VERSION}/${GBDT_MODEL_FORMAT}/${gitCommit ?? 'unknown-commit'}`;
}

/** Encode a fit's predictions (every member's): u32 members, u32 rows, then the Float64 values. */
export function encodeFit(r: Pick<FitResult, 'members'>): Uint8Array {
  const m = r.members.length;
  const n = m === 0 ? 0 : r.members[0]!.length;
  const out = new Uint8Array(8 + m * n * 8);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, m, true);
  dv.setUint32(4, n, true);
  for (let k = 0; k < m; k++) {
    if (r.members[k]!.length !== n) throw new DataError('FIT_CACHE_SHAPE', `member ${k} has ${r.members[k]!.length} predictions, member 0 has ${n}`);
    new Float64Array(out.buffer, 8 + k * n * 8, n).set(r.members[k]!);
  }
  return out;
}

/** Decode `encodeFit`; a malformed or mis-sized entry is a DataError (the caller refits). */
export function decodeFit(bytes: Uint8Array, expectRows: number): FitResult {
  if (bytes.byteLength < 8) throw new DataError('FIT_CACHE_CORRUPT', `fit cache entry of ${bytes.byteLength} bytes is shorter than its header`);
  const copy = new Uint8Array(bytes); // aligned, owned
  const dv = new DataView(copy.buffer);
  const m = dv.getUint32(0, true);
  const n = dv.getUint32(4, true);
  if (n !== expectRows || copy.byteLength !== 8 + m * n * 8 || m < 1) throw new DataError('FIT_CACHE_CORRUPT', `fit cache entry holds ${m} × ${n} predictions in ${copy.byteLength} bytes; expected ${expectRows} rows`);
  const members = Array.from({ length: m }, (_, k) => new Float64Array(copy.buffer.slice(8 + k * n * 8, 8 + (k + 1) * n * 8)));
  return { predictions: members[0]!, members, models: null };
}

/** An in-memory FitCache (tests, benchmarks, one process's runs). */
export class MemoryFitCache implements FitCache {
  readonly entries = new Map<string, Uint8Array>();
  async get(keys: readonly string[]): Promise<Map<string, Uint8Array>> {
    const out = new Map<string, Uint8Array>();
    for (const k of keys) {
      const v = this.entries.get(k);
      if (v !== undefined) out.set(k, v);
    }
    return out;
  }
  async put(entries: ReadonlyMap<string, Uint8Array>): Promise<void> {
    for (const [k, v] of entries) if (!this.entries.has(k)) this.entries.set(k, v);
  }
}
