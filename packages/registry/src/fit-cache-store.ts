import { checkSchema, DEFAULT_SCHEMA } from './migrations';
import type { Db } from './types';

/**
 * The fit cache (issue 18) where every worker reaches it: the registry's `fit_cache` table
 * (PostgreSQL for the fleet, the embedded PGlite on one machine). It has the shape of
 * @engine/training's `FitCache` (the registry does not depend on the training package). Content-addressed and
 * write-once, so concurrent workers writing the same fit are harmless; `prune` drops
 * entries no run has read for a while.
 */
export class FitCacheStore {
  private readonly table: string;

  constructor(
    private readonly db: Db,
    opts: { schema?: string } = {},
  ) {
    this.table = `"${checkSchema(opts.schema ?? DEFAULT_SCHEMA)}".fit_cache`;
  }

  async get(keys: readonly string[]): Promise<Map<string, Uint8Array>> {
    const out = new Map<string, Uint8Array>();
    if (keys.length === 0) return out;
    const rows = await this.db.query<{ key: string; payload: Uint8Array }>(`UPDATE ${this.table} SET used_at = now() WHERE key = ANY($1::text[]) RETURNING key, payload`, [keys]);
    for (const r of rows) out.set(r.key, new Uint8Array(r.payload.buffer, r.payload.byteOffset, r.payload.byteLength));
    return out;
  }

  async put(entries: ReadonlyMap<string, Uint8Array>): Promise<void> {
    for (const [key, bytes] of entries) {
      await this.db.query(`INSERT INTO ${this.table} (key, payload) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING`, [key, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)]);
    }
  }

  /** Remove entries not read since `before` (epoch ms); returns how many. */
  async prune(before: number): Promise<number> {
    const rows = await this.db.query(`DELETE FROM ${this.table} WHERE used_at < $1::timestamptz RETURNING key`, [new Date(before).toISOString()]);
    return rows.length;
  }

  /** Entries and bytes held. */
  async size(): Promise<{ entries: number; bytes: number }> {
    const [r] = await this.db.query<{ n: string; b: string | null }>(`SELECT count(*)::text AS n, sum(octet_length(payload))::text AS b FROM ${this.table}`);
    return { entries: Number(r?.n ?? 0), bytes: Number(r?.b ?? 0) };
  }
}
