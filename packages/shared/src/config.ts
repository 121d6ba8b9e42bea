import { z } from 'zod';
import { ConfigError } from './errors';
import { parsePair } from './symbols';

/**
 * The one configuration schema. Parsed once from the environment at process start
 * (`loadConfig()`); nothing else reads `process.env`. Every default here is the spec's.
 *
 * Unknown variables under our own prefixes (`ENGINE_`, `DROPBOX_`, `DASHBOARD_`) are
 * rejected, so a typo such as `ENGINE_WINDOW_DAY=90` fails loudly instead of silently
 * training on the default window.
 */
const OWN_PREFIXES = ['ENGINE_', 'DROPBOX_', 'DASHBOARD_'];

/** Attempts and first backoff of a queue's jobs, for transient failures. */
export interface RetrySettings {
  /** Attempts in all (1 = no retry). */
  attempts: number;
  /** Wait before the first retry; doubles each time. */
  backoffMs: number;
}

/** Defaults of ENGINE_TRAIN_ATTEMPTS / _BACKOFF_MS and ENGINE_SYNC_ATTEMPTS / _BACKOFF_MS. */
export const DEFAULT_RETRY = {
  train: { attempts: 3, backoffMs: 15_000 },
  sync: { attempts: 8, backoffMs: 5_000 },
} as const satisfies Record<'train' | 'sync', RetrySettings>;

const csv = z
  .string()
  .transform((s) => s.split(',').map((x) => x.trim()).filter((x) => x.length > 0));
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

/** Environment variable → parsed field. The keys are the exact variable names. */
const envSchema = z.object({
  /** https://no-color.org: any value turns off ANSI escapes (the engine prints no colour; the progress bar is off too). */
  NO_COLOR: z.string().optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Absent → single-machine mode (in-process pipeline, embedded registry). */
  REDIS_URL: z.string().url().optional(),
  DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'expected a postgres:// or postgresql:// URL').optional(),
  RUNPOD_POD_ID: z.string().optional(),

  ENGINE_DATA_DIR: z.string().default('.engine'),
  ENGINE_CANDLE_SOURCE: z.string().default('binance'),
  /** Override an exchange's REST base URL (tests point ccxt at a local fake). */
  ENGINE_EXCHANGE_URL: z.string().url().optional(),
  /** Pairs, normalised to BASE/QUOTE (`btc-usdt` → `BTC/USDT`); one that is not a pair is refused here, not at 02:00. */
  ENGINE_UNIVERSE: csv
    .pipe(
      z.array(z.string()).transform((list, ctx) =>
        list.map((s) => {
          try {
            return parsePair(s).symbol;
          } catch {
            ctx.addIssue({ code: 'custom', message: `'${s}' is not a pair: expected BASE/QUOTE such as BTC/USDT` });
            return s;
          }
        }),
      ),
    )
    .default(['BTC/USDT', 'ETH/USDT']),
  ENGINE_WINDOW_DAYS: int(1, 3650).default(150),
  /** A venue cost profile (packages/training/cost-profiles.json) for the daily run and `engine train`; absent: the cost-v1 default. */
  /** Hours a trained model stays fresh (`expires_at`); the consumer refuses it after. */
  ENGINE_MODEL_TTL_HOURS: int(1, 8760).default(48),
  ENGINE_COST_PROFILE: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'expected a cost profile name such as binance-usdm-taker').optional(),
  ENGINE_SCHEDULE_CRON: z.string().default('0 2 * * *'),
  ENGINE_SCHEDULE_TZ: z.string().default('UTC'),
  ENGINE_QUEUE_PREFIX: z.string().regex(/^[a-zA-Z0-9_-]+$/).default('engine'),
  ENGINE_WORKER_ROLE: z.enum(['train', 'sync']).default('train'),
  ENGINE_WORKER_CONCURRENCY: int(1, 64).default(1),
  ENGINE_LOCK_DURATION_MS: int(5_000, 3_600_000).default(120_000),
  /** Below a spot pod's ~5 s kill window: past it the worker hands its job back and exits. */
  ENGINE_SHUTDOWN_DEADLINE_MS: int(100, 600_000).default(4_000),
  ENGINE_TRAIN_THREADS: int(0, 256).default(0),
  /** Liveness endpoint (GET /healthz) of workers and the scheduler; 0 = none. */
  ENGINE_HEALTH_PORT: int(0, 65535).default(0),
  ENGINE_HEALTH_HOST: z.string().default('127.0.0.1'),
  /** Bearer token Prometheus must send to `/metrics` (workers, scheduler, dashboard); unset: open. */
  ENGINE_METRICS_TOKEN: z
    .string()
    .optional()
    .transform((v) => (v === '' ? undefined : v))
    .refine((v) => v === undefined || v.length >= 16, 'expected a token of at least 16 characters (or unset / empty: no token)'),
  ENGINE_SYNC_SWEEP_CRON: z.string().default('*/30 * * * *'),
  /**
   * Also write models to this process's own publish target when the registry publishes
   * elsewhere (a folder beside a Dropbox fleet): an export that claims nothing. Off: such a
   * process publishes nothing and leaves its models to the registry's own sync.
   */
  ENGINE_SIDE_PUBLISH: bool.default(false),
  /** The commit models are trained from (images have no .git; see resolveGitCommit). */
  ENGINE_GIT_COMMIT: z.string().regex(/^[0-9a-f]{7,40}$/i, 'expected a git commit hash (7 to 40 hex digits)').optional(),
  ENGINE_TRAIN_ATTEMPTS: int(1, 20).default(DEFAULT_RETRY.train.attempts),
  ENGINE_TRAIN_BACKOFF_MS: int(100, 3_600_000).default(DEFAULT_RETRY.train.backoffMs),
  ENGINE_SYNC_ATTEMPTS: int(1, 50).default(DEFAULT_RETRY.sync.attempts),
  ENGINE_SYNC_BACKOFF_MS: int(100, 3_600_000).default(DEFAULT_RETRY.sync.backoffMs),
  /** The folder of real 1-minute candle files (`<BASEQUOTE>-1m.csv.gz`) the benchmarks read. */
  ENGINE_OHLCV_DIR: z.string().optional(),
  /** A daily run's false-discovery control over its candidates: bh, by (any dependence) or holm (family-wise). */
  ENGINE_FDR_METHOD: z.enum(['bh', 'by', 'holm']).default('by'),
  /** The level q: a candidate publishes when its adjusted p ≤ q. */
  ENGINE_FDR_Q: z.coerce.number().gt(0).lt(1).default(0.05),

  DROPBOX_APP_KEY: z.string().optional(),
  DROPBOX_APP_SECRET: z.string().optional(),
  DROPBOX_REFRESH_TOKEN: z.string().optional(),
  DROPBOX_ROOT: z.string().regex(/^\//, 'expected an absolute Dropbox path').default('/Runpodhuracan'),
  /** Override Dropbox's API hosts (tests point the real SDK at a local fake). */
  DROPBOX_API_URL: z.string().url().optional(),

  DASHBOARD_PORT: int(1, 65535).default(3000),
  DASHBOARD_HOST: z.string().default('127.0.0.1'),
  DASHBOARD_USER: z.string().optional(),
  DASHBOARD_PASSWORD: z.string().optional(),
  DASHBOARD_READ_ONLY: bool.default(false),
  DASHBOARD_ALLOW_ANONYMOUS: bool.default(false),
  /** Several users: a file of `user:scrypt:N:r:p:salt:hash` lines (`engine dashboard hash-password` writes one). */
  DASHBOARD_USERS_FILE: z.string().min(1).optional(),
  /** HMAC key of the session cookies (≥ 32 characters): restarts and replicas keep sessions. Default: random per process. */
  DASHBOARD_SESSION_SECRET: z.string().min(32, 'expected at least 32 characters (e.g. `openssl rand -hex 32`)').optional(),
  /**
   * Express's `trust proxy`: `false` (default: the peer is the client), `true`, a number of
   * proxy hops, or comma-separated addresses/subnets of the proxies. Behind a TLS proxy it
   * keeps the cookie `Secure` and the login throttle per real client.
   */
  DASHBOARD_TRUST_PROXY: z
    .string()
    .regex(/^(true|false|\d{1,2}|[0-9a-fA-F.:/, ]+|loopback|linklocal|uniquelocal)$/, 'expected true, false, a hop count, or comma-separated proxy addresses/subnets')
    .default('false'),
  /** Host names (optionally host:port) the dashboard answers to; any other Host header is refused (DNS rebinding). */
  DASHBOARD_ALLOWED_HOSTS: csv.optional(),
});

export type EnvConfig = z.infer<typeof envSchema>;

/** The typed, grouped configuration every app receives. */
export interface Config {
  logLevel: EnvConfig['LOG_LEVEL'];
  /** NO_COLOR is set (to anything): no ANSI escapes on the terminal. */
  noColor: boolean;
  mode: 'fleet' | 'single';
  redisUrl?: string;
  databaseUrl?: string;
  podId?: string;
  dataDir: string;
  candleSource: string;
  exchangeUrl?: string;
  universe: string[];
  windowDays: number;
  /** ENGINE_COST_PROFILE, when set: the venue every scheduled run and `engine train` prices (a job's own `cost_profile` wins). */
  costProfile?: string;
  /** ENGINE_MODEL_TTL_HOURS: `expires_at` = training time + this. */
  modelTtlHours: number;
  schedule: { cron: string; tz: string; syncSweepCron: string };
  /** ENGINE_SIDE_PUBLISH: export to this process's own target when the registry publishes elsewhere. */
  sidePublish: boolean;
  queuePrefix: string;
  worker: { role: 'train' | 'sync'; concurrency: number; lockDurationMs: number; shutdownDeadlineMs: number; trainThreads: number };
  /** Where workers and the scheduler answer GET /healthz (port 0: they do not). */
  health: { host: string; port: number };
  /** ENGINE_METRICS_TOKEN: `/metrics` wants `Authorization: Bearer <it>`; absent: open. */
  metricsToken?: string;
  /** Attempts and first backoff per queue, for transient failures (DEFAULT_RETRY by default). */
  retry: { train: RetrySettings; sync: RetrySettings };
  /** ENGINE_GIT_COMMIT, when set. */
  gitCommit?: string;
  /** ENGINE_OHLCV_DIR, when set: the folder of real 1-minute candle files the benchmarks read. */
  ohlcvDir?: string;
  /** ENGINE_FDR_METHOD / ENGINE_FDR_Q: how a daily run adjusts its candidates together. */
  falseDiscovery: { method: 'bh' | 'by' | 'holm'; q: number };
  dropbox: { appKey?: string; appSecret?: string; refreshToken?: string; root: string; apiUrl?: string };
  dashboard: {
    port: number;
    host: string;
    user?: string;
    password?: string;
    readOnly: boolean;
    allowAnonymous: boolean;
    usersFile?: string;
    sessionSecret?: string;
    /** `trust proxy` as express takes it. */
    trustProxy: boolean | number | string;
    allowedHosts?: string[];
  };
}

/** Names of the variables that hold secrets: never logged, never echoed in errors. */
export const SECRET_VARIABLES = ['DATABASE_URL', 'REDIS_URL', 'DROPBOX_APP_SECRET', 'DROPBOX_REFRESH_TOKEN', 'DASHBOARD_PASSWORD', 'DASHBOARD_SESSION_SECRET'] as const;

/**
 * Parse the environment. Throws a ConfigError whose message names every bad variable,
 * what was expected, and never the secret's value.
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const known = new Set(Object.keys(envSchema.shape));
  const unknown = Object.keys(env).filter((k) => OWN_PREFIXES.some((p) => k.startsWith(p)) && !known.has(k));
  if (unknown.length > 0) {
    throw new ConfigError(`unknown configuration variable(s): ${unknown.join(', ')} (known: ${[...known].filter((k) => OWN_PREFIXES.some((p) => k.startsWith(p))).join(', ')})`, { unknown });
  }
  const input: Record<string, string> = {};
  for (const k of known) {
    const v = env[k];
    if (v !== undefined && v !== '') input[k] = v;
  }
  const parsed = envSchema.safeParse(input);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => {
      const name = String(i.path[0] ?? '?');
      const secret = (SECRET_VARIABLES as readonly string[]).includes(name);
      const got = secret ? '(secret, not shown)' : JSON.stringify(input[name]);
      return `${name}: ${i.message}; got ${got}`;
    });
    throw new ConfigError(`invalid configuration: ${problems.join('; ')}`, { variables: parsed.error.issues.map((i) => i.path[0]) });
  }
  const e = parsed.data;
  const dropboxVars = [e.DROPBOX_APP_KEY, e.DROPBOX_REFRESH_TOKEN];
  if (dropboxVars.some((v) => v !== undefined) && dropboxVars.some((v) => v === undefined)) {
    throw new ConfigError('invalid configuration: DROPBOX_APP_KEY and DROPBOX_REFRESH_TOKEN must be set together (refresh-token auth; DROPBOX_APP_SECRET too unless the app uses PKCE)');
  }
  if (e.DASHBOARD_USER !== undefined && e.DASHBOARD_PASSWORD === undefined) {
    throw new ConfigError('invalid configuration: DASHBOARD_USER is set but DASHBOARD_PASSWORD is not');
  }
  return {
    logLevel: e.LOG_LEVEL,
    noColor: env.NO_COLOR !== undefined && env.NO_COLOR !== '',
    mode: e.REDIS_URL ? 'fleet' : 'single',
    redisUrl: e.REDIS_URL,
    databaseUrl: e.DATABASE_URL,
    podId: e.RUNPOD_POD_ID,
    dataDir: e.ENGINE_DATA_DIR,
    candleSource: e.ENGINE_CANDLE_SOURCE,
    exchangeUrl: e.ENGINE_EXCHANGE_URL,
    universe: e.ENGINE_UNIVERSE,
    windowDays: e.ENGINE_WINDOW_DAYS,
    costProfile: e.ENGINE_COST_PROFILE,
    modelTtlHours: e.ENGINE_MODEL_TTL_HOURS,
    schedule: { cron: e.ENGINE_SCHEDULE_CRON, tz: e.ENGINE_SCHEDULE_TZ, syncSweepCron: e.ENGINE_SYNC_SWEEP_CRON },
    sidePublish: e.ENGINE_SIDE_PUBLISH,
    queuePrefix: e.ENGINE_QUEUE_PREFIX,
    worker: {
      role: e.ENGINE_WORKER_ROLE,
      concurrency: e.ENGINE_WORKER_CONCURRENCY,
      lockDurationMs: e.ENGINE_LOCK_DURATION_MS,
      shutdownDeadlineMs: e.ENGINE_SHUTDOWN_DEADLINE_MS,
      trainThreads: e.ENGINE_TRAIN_THREADS,
    },
    health: { host: e.ENGINE_HEALTH_HOST, port: e.ENGINE_HEALTH_PORT },
    metricsToken: e.ENGINE_METRICS_TOKEN,
    gitCommit: e.ENGINE_GIT_COMMIT,
    ohlcvDir: e.ENGINE_OHLCV_DIR,
    falseDiscovery: { method: e.ENGINE_FDR_METHOD, q: e.ENGINE_FDR_Q },
    retry: {
      train: { attempts: e.ENGINE_TRAIN_ATTEMPTS, backoffMs: e.ENGINE_TRAIN_BACKOFF_MS },
      sync: { attempts: e.ENGINE_SYNC_ATTEMPTS, backoffMs: e.ENGINE_SYNC_BACKOFF_MS },
    },
    dropbox: { appKey: e.DROPBOX_APP_KEY, appSecret: e.DROPBOX_APP_SECRET, refreshToken: e.DROPBOX_REFRESH_TOKEN, root: e.DROPBOX_ROOT, apiUrl: e.DROPBOX_API_URL },
    dashboard: {
      port: e.DASHBOARD_PORT,
      host: e.DASHBOARD_HOST,
      user: e.DASHBOARD_USER,
      password: e.DASHBOARD_PASSWORD,
      readOnly: e.DASHBOARD_READ_ONLY,
      allowAnonymous: e.DASHBOARD_ALLOW_ANONYMOUS,
      usersFile: e.DASHBOARD_USERS_FILE,
      sessionSecret: e.DASHBOARD_SESSION_SECRET,
      trustProxy: e.DASHBOARD_TRUST_PROXY === 'true' ? true : e.DASHBOARD_TRUST_PROXY === 'false' ? false : /^\d+$/.test(e.DASHBOARD_TRUST_PROXY) ? Number(e.DASHBOARD_TRUST_PROXY) : e.DASHBOARD_TRUST_PROXY,
      allowedHosts: e.DASHBOARD_ALLOWED_HOSTS?.map((h) => h.toLowerCase()),
    },
  };
}
