import * as path from 'node:path';
import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import { BUNDLE_FILES, type BundleFile, type ManifestCore, type ModelBundle, bundleFiles, sha256Hex, symbolSlug, verifyBundle } from '@engine/model';
import { DataError, PermanentError } from '@engine/shared';
import { DEFAULT_SCHEMA, checkSchema } from './migrations';
import type { ArtifactStore, Db } from './types';

/**
 * The staging key of a bundle: `YYYY-MM-DD/BASE-QUOTE/<model id>`. Derivable from a
 * sync job's payload (`{ modelId, symbol, runDate }`), so the training worker and the
 * sync worker agree on it without passing anything else.
 */
export function stagingKey(ref: { modelId: string; symbol: string; runDate: string }): string {
  return `${ref.runDate}/${symbolSlug(ref.symbol)}/${ref.modelId}`;
}

const KEY_RE = /^[A-Za-z0-9][A-Za-z0-9._-]*(\/[A-Za-z0-9][A-Za-z0-9._-]*)*$/;

function checkKey(key: string): string {
  if (!KEY_RE.test(key) || key.length > 400) {
    throw new PermanentError('STAGING_KEY_INVALID', `staging key '${key}' is not plain: expected segments of [A-Za-z0-9._-] separated by '/'`, { key });
  }
  return key;
}

/**
 * Rebuild a bundle from stored files (manifest.json among them) and verify it: the
 * manifest parses, every file's SHA-256 matches the manifest, nothing is missing.
 * DataError `BUNDLE_CORRUPT` says which key and file.
 */
function assemble(key: string, files: BundleFile[], storedSha: Map<string, string> | null): ModelBundle {
  const manifestFile = files.find((f) => f.name === BUNDLE_FILES.manifest);
  if (manifestFile === undefined) {
    throw new DataError('BUNDLE_CORRUPT', `staged bundle '${key}' has no ${BUNDLE_FILES.manifest} (files: ${files.map((f) => f.name).join(', ') || 'none'})`, { key });
  }
  if (storedSha !== null) {
    for (const f of files) {
      const want = storedSha.get(f.name);
      const got = sha256Hex(f.bytes);
      if (want !== got) {
        throw new DataError('BUNDLE_CORRUPT', `staged bundle '${key}': file '${f.name}' SHA-256 is ${got}, staged as ${want ?? 'unknown'}`, { key, file: f.name, expected: want, actual: got });
      }
    }
  }
  let manifest: ManifestCore;
  try {
    manifest = JSON.parse(Buffer.from(manifestFile.bytes).toString('utf8')) as ManifestCore;
  } catch (err) {
    throw new DataError('BUNDLE_CORRUPT', `staged bundle '${key}': ${BUNDLE_FILES.manifest} is not valid JSON (${(err as Error).message})`, { key }, err);
  }
  const bundle: ModelBundle = { manifest, files };
  verifyBundle(bundle, `in staging '${key}'`);
  return bundle;
}

/**
 * The fleet's staging store: bundle files as `bytea` rows in PostgreSQL, which both
 * training workers and the sync worker reach (they share only Redis and PostgreSQL).
 * Each file's SHA-256 is stored beside it and checked on read, as is the manifest's.
 * The table is created by the registry migrations (same schema).
 */
export class PgArtifactStore implements ArtifactStore {
  readonly kind = 'postgres' as const;
  private readonly table: string;

  constructor(
    private readonly db: Db,
    opts: { schema?: string } = {},
  ) {
    this.table = `"${checkSchema(opts.schema ?? DEFAULT_SCHEMA)}".staged_files`;
  }

  async put(key: string, bundle: ModelBundle): Promise<void> {
    checkKey(key);
    verifyBundle(bundle, `being staged as '${key}'`);
    const files = bundleFiles(bundle);
    await this.db.transaction(async (tx) => {
      await tx.query(`DELETE FROM ${this.table} WHERE key = $1`, [key]);
      for (const f of files) {
        await tx.query(`INSERT INTO ${this.table} (key, name, sha256, bytes) VALUES ($1, $2, $3, $4)`, [key, f.name, sha256Hex(f.bytes), Buffer.from(f.bytes)]);
      }
    });
  }

  async get(key: string): Promise<ModelBundle> {
    checkKey(key);
    const rows = await this.db.query<{ name: string; sha256: string; bytes: Uint8Array }>(`SELECT name, sha256, bytes FROM ${this.table} WHERE key = $1 ORDER BY name`, [key]);
    if (rows.length === 0) {
      throw new PermanentError('BUNDLE_NOT_FOUND', `no bundle staged under '${key}' in ${this.table}`, { key });
    }
    const files = rows.map((r) => ({ name: r.name, bytes: new Uint8Array(r.bytes.buffer, r.bytes.byteOffset, r.bytes.byteLength) }));
    return assemble(key, files, new Map(rows.map((r) => [r.name, r.sha256])));
  }

  async has(key: string): Promise<boolean> {
    checkKey(key);
    const rows = await this.db.query(`SELECT 1 FROM ${this.table} WHERE key = $1 LIMIT 1`, [key]);
    return rows.length > 0;
  }

  async delete(key: string): Promise<void> {
    checkKey(key);
    await this.db.query(`DELETE FROM ${this.table} WHERE key = $1`, [key]);
  }

  async list(prefix = ''): Promise<string[]> {
    const rows = await this.db.query<{ key: string }>(`SELECT DISTINCT key FROM ${this.table} WHERE starts_with(key, $1) ORDER BY key`, [prefix]);
    return rows.map((r) => r.key);
  }
}

/**
 * Single-machine staging: one folder per key under `root`, each file under its bundle
 * name. `put` writes into a temporary folder and renames it into place, so a reader
 * never sees half a bundle; `get` verifies every SHA-256 against the manifest.
 */
export class FolderArtifactStore implements ArtifactStore {
  readonly kind = 'folder' as const;

  /**
   * A temporary folder older than this is an orphan of a killed process (a put takes
   * seconds): the next put removes it. Default one hour.
   */
  constructor(
    readonly root: string,
    private readonly orphanAgeMs = 3_600_000,
  ) {}

  /** Remove what killed processes left in `.tmp` (older than `orphanAgeMs`); returns how many. */
  async removeOrphans(now = Date.now()): Promise<number> {
    const tmpRoot = path.join(this.root, '.tmp');
    let names: string[];
    try {
      names = await readdir(tmpRoot);
    } catch {
      return 0;
    }
    let removed = 0;
    for (const name of names) {
      const p = path.join(tmpRoot, name);
      const s = await stat(p).catch(() => null);
      if (s !== null && now - s.mtimeMs > this.orphanAgeMs) {
        await rm(p, { recursive: true, force: true });
        removed++;
      }
    }
    return removed;
  }

  private dir(key: string): string {
    return path.join(this.root, ...checkKey(key).split('/'));
  }

  async put(key: string, bundle: ModelBundle): Promise<void> {
    const dest = this.dir(key);
    verifyBundle(bundle, `being staged as '${key}'`);
    await this.removeOrphans();
    const tmp = path.join(this.root, '.tmp', randomUUID());
    await mkdir(tmp, { recursive: true });
    try {
      for (const f of bundleFiles(bundle)) await writeFile(path.join(tmp, f.name), f.bytes);
      await mkdir(path.dirname(dest), { recursive: true });
      // Move an older copy aside first: the window without a bundle is two renames long.
      const old = `${tmp}-old`;
      const hadOld = await rename(dest, old).then(
        () => true,
        (err: NodeJS.ErrnoException) => {
          if (err.code === 'ENOENT') return false;
          throw err;
        },
      );
      await rename(tmp, dest);
      if (hadOld) await rm(old, { recursive: true, force: true });
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }

  async get(key: string): Promise<ModelBundle> {
    const dir = this.dir(key);
    let names: string[];
    try {
      names = (await readdir(dir, { withFileTypes: true })).filter((d) => d.isFile()).map((d) => d.name).sort();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new PermanentError('BUNDLE_NOT_FOUND', `no bundle staged under '${key}' (folder ${dir} does not exist)`, { key, dir });
      }
      throw err;
    }
    const files: BundleFile[] = [];
    for (const name of names) files.push({ name, bytes: new Uint8Array(await readFile(path.join(dir, name))) });
    return assemble(key, files, null);
  }

  async has(key: string): Promise<boolean> {
    try {
      const names = await readdir(this.dir(key));
      return names.includes(BUNDLE_FILES.manifest);
    } catch {
      return false;
    }
  }

  async delete(key: string): Promise<void> {
    await rm(this.dir(key), { recursive: true, force: true });
  }

  async list(prefix = ''): Promise<string[]> {
    const out: string[] = [];
    const walk = async (rel: string[]): Promise<void> => {
      let entries;
      try {
        entries = await readdir(path.join(this.root, ...rel), { withFileTypes: true });
      } catch {
        return;
      }
      if (rel.length > 0 && entries.some((e) => e.isFile() && e.name === BUNDLE_FILES.manifest)) {
        out.push(rel.join('/'));
        return;
      }
      for (const e of entries) if (e.isDirectory() && !e.name.startsWith('.')) await walk([...rel, e.name]);
    };
    await walk([]);
    return out.filter((k) => k.startsWith(prefix)).sort();
  }
}
