import { ConfigError } from '@engine/shared';
import type { Db } from './types';

/** The schema the registry lives in unless configured otherwise. */
export const DEFAULT_SCHEMA = 'engine_registry';

const SCHEMA_RE = /^[a-z_][a-z0-9_]{0,62}$/;

/** Validate a schema name (it is spliced into SQL as an identifier, so only `[a-z0-9_]`). */
export function checkSchema(schema: string): string {
  if (!SCHEMA_RE.test(schema)) {
    throw new ConfigError(`registry schema '${schema}' is not a plain identifier: expected [a-z_][a-z0-9_]* (max 63 chars)`);
  }
  return schema;
}

/** One versioned step. `sql(s)` receives the quoted schema name. Never edit a shipped step: add one. */
export interface Migration {
  version: number;
  name: string;
  sql: (s: string) => string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'models, metrics, gates, append-only publish log, live pointer, staging store',
    sql: (s) => `
CREATE TABLE ${s}.models (
  id              uuid PRIMARY KEY,
  symbol          text NOT NULL,
  run_date        date NOT NULL,
  created_at      timestamptz NOT NULL,
  recorded_at     timestamptz NOT NULL DEFAULT now(),
  verdict         text NOT NULL CHECK (verdict IN ('published', 'rejected')),
  reasons         jsonb NOT NULL DEFAULT '[]',
  manifest        jsonb NOT NULL,
  recipe_version  text NOT NULL,
  recipe_hash     text NOT NULL,
  median_source   text NOT NULL CHECK (median_source IN ('registry', 'folds')),
  location        text NOT NULL,
  sync_state      text NOT NULL DEFAULT 'pending' CHECK (sync_state IN ('pending', 'synced', 'failed')),
  sync_attempts   integer NOT NULL DEFAULT 0,
  synced_at       timestamptz,
  published_files jsonb,
  last_sync_error text,
  rolled_back_at  timestamptz,
  CONSTRAINT models_symbol_run_date_key UNIQUE (symbol, run_date)
);
CREATE INDEX models_symbol_published_idx ON ${s}.models (symbol, run_date DESC) WHERE verdict = 'published';
CREATE INDEX models_pending_idx ON ${s}.models (recorded_at) WHERE sync_state = 'pending';

CREATE TABLE ${s}.model_metrics (
  model_id uuid NOT NULL REFERENCES ${s}.models (id),
  name     text NOT NULL,
  value    double precision NOT NULL,
  PRIMARY KEY (model_id, name)
);

CREATE TABLE ${s}.model_gates (
  model_id uuid NOT NULL REFERENCES ${s}.models (id),
  position integer NOT NULL,
  name     text NOT NULL,
  value    double precision,
  bound    double precision,
  op       text NOT NULL CHECK (op IN ('>=', '<=')),
  passed   boolean NOT NULL,
  note     text,
  PRIMARY KEY (model_id, name)
);

CREATE TABLE ${s}.publish_log (
  seq      bigserial PRIMARY KEY,
  at       timestamptz NOT NULL DEFAULT now(),
  event    text NOT NULL CHECK (event IN ('published', 'rejected', 'rolled_back', 'synced', 'sync_failed', 'duplicate_ignored', 'pointer_updated')),
  symbol   text NOT NULL,
  model_id uuid REFERENCES ${s}.models (id),
  actor    text NOT NULL,
  reason   text,
  details  jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX publish_log_symbol_idx ON ${s}.publish_log (symbol, seq DESC);

-- The publish log is evidence: it is appended to, never rewritten (SPEC §5: the old
-- engine overwrote it). The trigger makes that a database rule, not a convention.
CREATE FUNCTION ${s}.publish_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'publish_log is append-only: % is not allowed', TG_OP USING ERRCODE = '42501';
END
$$;
CREATE TRIGGER publish_log_no_update_delete BEFORE UPDATE OR DELETE ON ${s}.publish_log
  FOR EACH ROW EXECUTE FUNCTION ${s}.publish_log_append_only();
CREATE TRIGGER publish_log_no_truncate BEFORE TRUNCATE ON ${s}.publish_log
  FOR EACH STATEMENT EXECUTE FUNCTION ${s}.publish_log_append_only();

CREATE TABLE ${s}.live_models (
  symbol           text PRIMARY KEY,
  model_id         uuid NOT NULL REFERENCES ${s}.models (id),
  since            timestamptz NOT NULL DEFAULT now(),
  pointer_model_id uuid REFERENCES ${s}.models (id)
);

CREATE TABLE ${s}.staged_files (
  key    text NOT NULL,
  name   text NOT NULL,
  sha256 text NOT NULL,
  bytes  bytea NOT NULL,
  staged_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (key, name)
);
`,
  },
  {
    version: 2,
    name: 'the registry records its publish target, and each model the target it was synced to',
    sql: (s) => `
ALTER TABLE ${s}.models ADD COLUMN publish_target text;
CREATE TABLE ${s}.registry_settings (
  key    text PRIMARY KEY,
  value  text NOT NULL,
  set_at timestamptz NOT NULL DEFAULT now(),
  set_by text NOT NULL
);
-- Registries written before this migration: each synced model's target is the one its
-- last 'synced' event names, and the registry's is the target of its newest sync.
UPDATE ${s}.models m SET publish_target = (
  SELECT p.details->>'target' FROM ${s}.publish_log p WHERE p.event = 'synced' AND p.model_id = m.id ORDER BY p.seq DESC LIMIT 1
) WHERE m.sync_state = 'synced';
INSERT INTO ${s}.registry_settings (key, value, set_by)
  SELECT 'publish_target', p.details->>'target', 'migration 2 (from the newest synced event)' FROM ${s}.publish_log p
  WHERE p.event = 'synced' AND p.details->>'target' IS NOT NULL ORDER BY p.seq DESC LIMIT 1;
`,
  },
  {
    version: 3,
    name: 'the trial ledger: every evaluated configuration, append-only',
    sql: (s) => `
CREATE TABLE ${s}.trials (
  seq          bigserial PRIMARY KEY,
  recorded_at  timestamptz NOT NULL DEFAULT now(),
  symbol       text NOT NULL,
  run_date     date NOT NULL,
  config_hash  text NOT NULL,
  model_family text NOT NULL,
  seed         bigint,
  is_control   boolean NOT NULL,
  model_id     uuid,
  source       text NOT NULL,
  oos_days     integer NOT NULL CHECK (oos_days >= 0),
  sharpe       double precision,
  skew         double precision NOT NULL,
  kurtosis     double precision NOT NULL,
  psr0         double precision NOT NULL,
  first_day    date,
  daily_pnl    jsonb NOT NULL,
  details      jsonb NOT NULL DEFAULT '{}',
  CONSTRAINT trials_symbol_run_date_config_key UNIQUE (symbol, run_date, config_hash)
);
CREATE INDEX trials_symbol_run_date_idx ON ${s}.trials (symbol, run_date DESC);

-- Trials are evidence, like the publish log: appended, never rewritten or removed.
CREATE FUNCTION ${s}.trials_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'trials is append-only: % is not allowed', TG_OP USING ERRCODE = '42501';
END
$$;
CREATE TRIGGER trials_no_update_delete BEFORE UPDATE OR DELETE ON ${s}.trials
  FOR EACH ROW EXECUTE FUNCTION ${s}.trials_append_only();
CREATE TRIGGER trials_no_truncate BEFORE TRUNCATE ON ${s}.trials
  FOR EACH STATEMENT EXECUTE FUNCTION ${s}.trials_append_only();
`,
  },
  {
    version: 4,
    name: 'models held for the run\'s false-discovery decision',
    sql: (s) => `
-- A daily run's models are recorded as each symbol finishes, but held (not published, not
-- live, not swept) until the run has evaluated every symbol and adjusted the candidates
-- together; the decision is kept beside the model.
ALTER TABLE ${s}.models DROP CONSTRAINT models_sync_state_check;
ALTER TABLE ${s}.models ADD CONSTRAINT models_sync_state_check CHECK (sync_state IN ('held', 'pending', 'synced', 'failed'));
ALTER TABLE ${s}.models ADD COLUMN false_discovery jsonb;
CREATE INDEX models_held_idx ON ${s}.models (run_date) WHERE sync_state = 'held';
ALTER TABLE ${s}.publish_log DROP CONSTRAINT publish_log_event_check;
ALTER TABLE ${s}.publish_log ADD CONSTRAINT publish_log_event_check
  CHECK (event IN ('held', 'published', 'rejected', 'rolled_back', 'synced', 'sync_failed', 'duplicate_ignored', 'pointer_updated'));
`,
  },
  {
    version: 5,
    name: 'live feedback (decisions, trades) and demotion of live models',
    sql: (s) => `
-- What live traders report back, append-only; re-sending a record never counts it twice.
CREATE TABLE ${s}.live_trades (
  model_id      uuid NOT NULL,
  symbol        text NOT NULL,
  entry_ts      timestamptz NOT NULL,
  exit_ts       timestamptz NOT NULL,
  side          text NOT NULL CHECK (side IN ('long', 'short')),
  exit_reason   text NOT NULL,
  predicted_bps double precision NOT NULL,
  net_bps       double precision NOT NULL,
  gross_bps     double precision NOT NULL,
  cost_bps      double precision NOT NULL,
  recorded_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (model_id, entry_ts)
);
CREATE TABLE ${s}.live_decisions (
  model_id           uuid NOT NULL,
  symbol             text NOT NULL,
  ts                 timestamptz NOT NULL,
  predicted_edge_bps double precision,
  confidence         double precision,
  entered            boolean NOT NULL,
  reason             text NOT NULL,
  features           jsonb,
  recorded_at        timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (model_id, ts)
);
CREATE FUNCTION ${s}.live_feedback_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only: % is not allowed', TG_TABLE_NAME, TG_OP USING ERRCODE = '42501';
END
$$;
CREATE TRIGGER live_trades_append_only BEFORE UPDATE OR DELETE ON ${s}.live_trades FOR EACH ROW EXECUTE FUNCTION ${s}.live_feedback_append_only();
CREATE TRIGGER live_decisions_append_only BEFORE UPDATE OR DELETE ON ${s}.live_decisions FOR EACH ROW EXECUTE FUNCTION ${s}.live_feedback_append_only();
-- Each monitoring pass over a live model: what its live trades showed against its record.
CREATE TABLE ${s}.live_monitoring (
  seq      bigserial PRIMARY KEY,
  model_id uuid NOT NULL,
  symbol   text NOT NULL,
  at       timestamptz NOT NULL,
  trades   integer NOT NULL,
  breach   text,
  report   jsonb NOT NULL
);
CREATE INDEX live_monitoring_model_idx ON ${s}.live_monitoring (model_id, seq DESC);
CREATE TRIGGER live_monitoring_append_only BEFORE UPDATE OR DELETE ON ${s}.live_monitoring FOR EACH ROW EXECUTE FUNCTION ${s}.live_feedback_append_only();
-- A demoted live model: the symbol has no live model until a newer one is published.
ALTER TABLE ${s}.live_models ADD COLUMN demoted jsonb;
ALTER TABLE ${s}.live_models ADD COLUMN pointer_demoted boolean NOT NULL DEFAULT false;
ALTER TABLE ${s}.publish_log DROP CONSTRAINT publish_log_event_check;
ALTER TABLE ${s}.publish_log ADD CONSTRAINT publish_log_event_check
  CHECK (event IN ('held', 'published', 'rejected', 'rolled_back', 'synced', 'sync_failed', 'duplicate_ignored', 'pointer_updated', 'demoted'));
`,
  },
  {
    version: 6,
    name: 'fit cache: walk-forward fold fits by content address (issue 18)',
    sql: (s) => `
-- Out-of-sample predictions of fold fits under the SHA-256 of everything the fit read.
-- Write-once: an entry is never updated (the same key is the same fit).
CREATE TABLE ${s}.fit_cache (
  key        text PRIMARY KEY CHECK (key ~ '^[0-9a-f]{64}$'),
  payload    bytea NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  used_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX fit_cache_used_idx ON ${s}.fit_cache (used_at);
`,
  },
];

/**
 * Bring the registry schema up to the latest migration. Safe when several processes
 * start at once: everything runs in ONE transaction holding a transaction-scoped
 * advisory lock keyed on the schema, so the second migrator waits, then finds the
 * versions applied and does nothing. DDL is transactional in PostgreSQL, so a failed
 * step leaves the schema exactly as it was. `upTo` stops after that version (the embedded
 * registry's upgrade rebuilds an old schema at the version its data was written with).
 */
export async function migrate(db: Db, opts: { schema?: string; upTo?: number } = {}): Promise<{ applied: number[]; version: number }> {
  const schema = checkSchema(opts.schema ?? DEFAULT_SCHEMA);
  const upTo = opts.upTo ?? Infinity;
  const s = `"${schema}"`;
  return db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`engine.registry.migrate:${schema}`]);
    await tx.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
    await tx.query(
      `CREATE TABLE IF NOT EXISTS ${s}.schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    const rows = await tx.query<{ version: number }>(`SELECT version FROM ${s}.schema_migrations ORDER BY version`);
    const done = new Set(rows.map((r) => Number(r.version)));
    const applied: number[] = [];
    for (const m of MIGRATIONS) {
      if (done.has(m.version) || m.version > upTo) continue;
      await tx.query(m.sql(s));
      await tx.query(`INSERT INTO ${s}.schema_migrations (version, name) VALUES ($1, $2)`, [m.version, m.name]);
      applied.push(m.version);
    }
    const version = Math.max(0, ...done, ...applied);
    return { applied, version };
  });
}

/** Drop the whole registry schema (tests clean up with it). */
export async function dropSchema(db: Db, schema: string): Promise<void> {
  await db.query(`DROP SCHEMA IF EXISTS "${checkSchema(schema)}" CASCADE`);
}
