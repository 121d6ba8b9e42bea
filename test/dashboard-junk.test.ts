/**
 * Every page renders whatever junk is in Redis: failed jobs whose payload is not what the
 * job catalog makes (a symbol that is not a pair, a payload that is not an object, fields
 * of the wrong type, script in a reason) are listed as they are, escaped, and never take a
 * page down. Real BullMQ queues on Redis, a real registry on PostgreSQL.
 */
import { Queue, UnrecoverableError, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { QUEUES } from '@engine/fleet';
import { startDashboardFixture, TEST_REDIS_URL, type DashboardFixture } from '../packages/dashboard/test/support/dashboard-fixture';
import { csrfOf, login, request } from './support/dashboard-http';

/** Fail one job with this payload on `queue`, the way a worker refusing a bad payload does. */
async function failJob(redis: Redis, prefix: string, queue: string, name: string, data: unknown, jobId: string, reason: string): Promise<void> {
  const q = new Queue(queue, { connection: redis, prefix });
  const worker = new Worker(
    queue,
    async () => {
      throw new UnrecoverableError(reason);
    },
    { connection: redis, prefix, autorun: false },
  );
  const failed = new Promise<void>((resolve) => worker.on('failed', () => resolve()));
  await q.add(name, data, { jobId });
  void worker.run();
  await failed;
  await worker.close();
  await q.close();
}

describe('the dashboard with junk in Redis', () => {
  let fx: DashboardFixture;
  let redis: Redis;
  beforeAll(async () => {
    fx = await startDashboardFixture();
    redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
    await failJob(redis, fx.prefix, QUEUES.train, 'train', { runDate: '2026-07-15', symbol: 'BTC_USDT', windowDays: 150, source: 'binance' }, 'junk-underscore', 'invalid train job payload: symbol: expected an upper-case pair BASE/QUOTE such as BTC/USDT');
    await failJob(redis, fx.prefix, QUEUES.train, 'train', 'not an object', 'junk-string', 'invalid train job payload: (payload): expected object');
    await failJob(redis, fx.prefix, QUEUES.train, 'train', { symbol: 42, runDate: { year: 2026 } }, 'junk-types', 'invalid train job payload');
    await failJob(redis, fx.prefix, QUEUES.sync, 'sync-model', { kind: 'model', symbol: '<script>alert(1)</script>', modelId: 'x' }, 'junk-script', '<img src=x onerror=alert(1)>');
  });
  afterAll(async () => {
    await redis?.quit();
    await fx?.close();
  });

  test('the fleet page lists them, escaped, and still shows every real symbol', async () => {
    const cookie = await login(fx);
    const r = await request(fx, 'GET', '/', { cookie });
    expect(r.status).toBe(200);
    for (const id of ['junk-underscore', 'junk-string', 'junk-types', 'junk-script']) expect(r.body).toContain(id);
    expect(r.body).toContain('BTC_USDT');
    expect(r.body).not.toContain('<script>alert(1)</script>');
    expect(r.body).not.toContain('<img src=x');
    expect(r.body).toContain('&lt;script&gt;');
    for (const s of ['BTC/USDT', 'ETH/USDT', 'SOL/USDT']) expect(r.body).toContain(`data-symbol="${s}"`);
    // A junk symbol is not a symbol of the fleet: it gets no row of its own, nor a link.
    expect(r.body).not.toContain('data-symbol="BTC_USDT"');
    expect(r.body).not.toContain('href="/symbols/BTC_USDT"');
  });

  test('Retry is offered only where a retry can help: not for a fault of the job itself (issue 19)', async () => {
    await failJob(redis, fx.prefix, QUEUES.train, 'train', { runDate: '2026-07-15', symbol: 'ETH/USDT', windowDays: 150, source: 'binance', training: { modle: {} } }, 'bad-config', "[CONFIG_INVALID] invalid training overrides: unknown training setting 'modle'");
    await failJob(redis, fx.prefix, QUEUES.train, 'train', { runDate: '2026-07-14', symbol: 'ETH/USDT', windowDays: 150, source: 'binance' }, 'bad-candles', '[CANDLES_INVALID] ETH/USDT: candle 2026-07-01T00:00:00.000Z breaks rule high-low');
    const cookie = await login(fx);
    const r = await request(fx, 'GET', '/', { cookie });
    const row = (id: string) => r.body.slice(r.body.indexOf(`<tr data-job="${id}">`), r.body.indexOf('</tr>', r.body.indexOf(`<tr data-job="${id}">`)));
    expect(row('bad-config')).toContain('data-no-retry="CONFIG_INVALID"');
    expect(row('bad-config')).not.toContain('/retry"');
    // Bad candles can be fixed at the source and then retried: the button stays.
    expect(row('bad-candles')).toContain('/jobs/train/bad-candles/retry');
    // And the server refuses a crafted retry of the config failure, saying why.
    const post = await request(fx, 'POST', '/jobs/train/bad-config/retry', { cookie, form: { _csrf: csrfOf(r.body) }, origin: fx.url });
    expect(post.status).toBe(409);
    expect(post.body).toMatch(/failed with CONFIG_INVALID, a fault of the job itself/);
  });

  test("a symbol's page and the queue board render too", async () => {
    const cookie = await login(fx);
    expect((await request(fx, 'GET', '/symbols/BTC-USDT', { cookie })).status).toBe(200);
    expect((await request(fx, 'GET', '/symbols/SOL-USDT', { cookie })).status).toBe(200);
    expect((await request(fx, 'GET', '/queues', { cookie })).status).toBe(200);
  });
});
