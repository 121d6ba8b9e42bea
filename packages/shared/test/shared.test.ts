import { Writable } from 'node:stream';
import { ConfigError, createLogger, loadConfig, parsePair, parseUtcDay, resolveGitCommit, DEFAULT_RETRY, wrapError, TransientError } from '@engine/shared';

describe('config', () => {
  it('applies the spec defaults and single-machine mode without REDIS_URL', () => {
    const c = loadConfig({});
    expect(c.windowDays).toBe(150);
    expect(c.schedule.cron).toBe('0 2 * * *');
    expect(c.mode).toBe('single');
  });

  it('names the bad variable and what was expected', () => {
    expect(() => loadConfig({ ENGINE_WINDOW_DAYS: 'ninety' })).toThrow(/ENGINE_WINDOW_DAYS.*"ninety"/);
    expect(() => loadConfig({ ENGINE_WINDOW_DAYS: 'ninety' })).toThrow(ConfigError);
  });

  it('takes the retry policy from the environment, DEFAULT_RETRY by default, and bounds it', () => {
    expect(loadConfig({}).retry).toEqual({ train: { ...DEFAULT_RETRY.train }, sync: { ...DEFAULT_RETRY.sync } });
    const c = loadConfig({ ENGINE_TRAIN_ATTEMPTS: '5', ENGINE_TRAIN_BACKOFF_MS: '60000', ENGINE_SYNC_ATTEMPTS: '12', ENGINE_SYNC_BACKOFF_MS: '2000' });
    expect(c.retry).toEqual({ train: { attempts: 5, backoffMs: 60_000 }, sync: { attempts: 12, backoffMs: 2_000 } });
    expect(() => loadConfig({ ENGINE_TRAIN_ATTEMPTS: '0' })).toThrow(/ENGINE_TRAIN_ATTEMPTS.*"0"/);
    expect(() => loadConfig({ ENGINE_SYNC_BACKOFF_MS: 'soon' })).toThrow(/ENGINE_SYNC_BACKOFF_MS/);
  });

  it('records the git commit: ENGINE_GIT_COMMIT first, else the checkout the code runs from', () => {
    expect(resolveGitCommit(loadConfig({ ENGINE_GIT_COMMIT: 'abc1234' }))).toBe('abc1234');
    // an image built without the argument sets it empty, which counts as unset
    expect(loadConfig({ ENGINE_GIT_COMMIT: '' }).gitCommit).toBeUndefined();
    expect(resolveGitCommit(loadConfig({}))).toMatch(/^[0-9a-f]{40}$/); // this repository's HEAD
    expect(() => loadConfig({ ENGINE_GIT_COMMIT: 'main' })).toThrow(/ENGINE_GIT_COMMIT: expected a git commit hash/);
  });

  it('normalises the universe to pairs and refuses one that is not a pair', () => {
    expect(loadConfig({ ENGINE_UNIVERSE: 'btc-usdt, ETHUSDT' }).universe).toEqual(['BTC/USDT', 'ETH/USDT']);
    expect(() => loadConfig({ ENGINE_UNIVERSE: 'BTC/USDT,BTC_USDT' })).toThrow(/ENGINE_UNIVERSE: 'BTC_USDT' is not a pair/);
  });

  it('accepts ENGINE_OHLCV_DIR, the real-data folder the benchmarks read (exporting it must not stop engine commands)', () => {
    expect(loadConfig({ ENGINE_OHLCV_DIR: '/x' }).ohlcvDir).toBe('/x');
    expect(loadConfig({}).ohlcvDir).toBeUndefined();
  });

  it('rejects unknown variables under our prefixes (typos)', () => {
    expect(() => loadConfig({ ENGINE_WINDOW_DAY: '90' })).toThrow(/unknown configuration variable.*ENGINE_WINDOW_DAY/);
  });

  it('never echoes a secret value in an error', () => {
    let msg = '';
    try {
      loadConfig({ DATABASE_URL: 'mysql://user:hunter2@db/x' });
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg).toMatch(/DATABASE_URL/);
    expect(msg).not.toMatch(/hunter2/);
  });
});

describe('logger', () => {
  it('redacts secrets by configuration', () => {
    const lines: string[] = [];
    const sink = new Writable({ write(chunk, _e, cb) { lines.push(String(chunk)); cb(); } });
    const log = createLogger({ level: 'info' }, sink);
    log.info({ dropbox: { refreshToken: 'sl.SECRET' }, password: 'p4ss', symbol: 'BTC/USDT' }, 'hello');
    const out = lines.join('');
    expect(out).toContain('BTC/USDT');
    expect(out).not.toContain('sl.SECRET');
    expect(out).not.toContain('p4ss');
  });
});

describe('symbols, dates and errors', () => {
  it('parses pairs in the usual spellings', () => {
    expect(parsePair('btc/usdt').symbol).toBe('BTC/USDT');
    expect(parsePair('ETHUSDT').symbol).toBe('ETH/USDT');
    expect(parsePair('SUI-USDT').base).toBe('SUI');
    expect(() => parsePair('nonsense')).toThrow(/expected BASE\/QUOTE/);
    // Unicode look-alikes upper-case into ASCII ('ſ' → 'S'): refused, not read as SUI/USDT.
    expect(() => parsePair('ſui/uſdt')).toThrow(/is not a pair/);
    expect(() => parsePair('ＢＴＣ/USDT')).toThrow(/is not a pair/);
  });

  it('rejects impossible dates', () => {
    expect(parseUtcDay('2026-07-16')).toBe(Date.UTC(2026, 6, 16));
    expect(() => parseUtcDay('2026-02-30')).toThrow(/YYYY-MM-DD/);
  });

  it('wraps unknown errors as transient with the cause kept', () => {
    const orig = new Error('socket hang up');
    const w = wrapError(orig, 'fetching candles');
    expect(w).toBeInstanceOf(TransientError);
    expect(w.cause).toBe(orig);
    expect(w.message).toBe('fetching candles: socket hang up');
  });
});
