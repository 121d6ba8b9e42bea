/**
 * A symbol's trials page over a real registry and trial ledger (PostgreSQL, own schema):
 * the window's rows newest first, controls listed only when asked and never counted, the
 * candidate (the live model's trial, or `?candidate=`) deflated exactly as the sweep's
 * ranking does, a histogram of the counted Sharpes with the candidate marked, refused
 * parameters, unknown symbols, an empty ledger, a capped table and escaped free text.
 */
import { deflateByTrials, type TrialHistoryEntry } from '@engine/training';
import type { TrialRecord } from '@engine/registry';
import { startDashboardFixture, type DashboardFixture } from '../packages/dashboard/test/support/dashboard-fixture';
import { HASHES, seedTrials, SWEEP_MODEL_ID, TRIALS_NOW, XSS_FAMILY, XSS_SOURCE } from '../packages/dashboard/test/support/seed-trials';
import { fmtNum } from '../packages/dashboard/src/views/format';
import { login, request } from './support/dashboard-http';

/** The candidate table's value of `key` (tags stripped, the first token: the annualised value and badges follow). */
function cell(body: string, key: string): string {
  const m = new RegExp(`<tr data-k="${key}">.*?<td class="num">(.*?)</td>`, 's').exec(body);
  if (!m) throw new Error(`no '${key}' in the candidate table`);
  return m[1]!.replace(/<[^>]*>/g, ' ').trim().split(/\s+/)[0]!;
}

/** The ledger table's rows: config hash, run date and control flag, in page order. */
function rows(body: string): { config: string; runDate: string; control: boolean; cls: string }[] {
  return [...body.matchAll(/<tr data-config="([0-9a-f]{64})" data-run-date="([\d-]+)" data-control="([01])" class="([^"]*)">/g)].map((m) => ({ config: m[1]!, runDate: m[2]!, control: m[3] === '1', cls: m[4]! }));
}

/** The histogram's bars' counts. */
function barCounts(body: string): number[] {
  return [...body.matchAll(/<rect class="bar" data-count="(\d+)"/g)].map((m) => Number(m[1]));
}

const sum = (xs: number[]) => xs.reduce((s, x) => s + x, 0);

/** What the sweep's ranking computes for `c`: the counted trials of the 90 days to its run date. */
function expected(all: TrialRecord[], c: TrialRecord, from: string) {
  const history: TrialHistoryEntry[] = all.filter((t) => !t.isControl && t.runDate >= from && t.runDate <= c.runDate);
  return deflateByTrials(c, history, c.runDate);
}

describe("a symbol's trials page", () => {
  let fx: DashboardFixture;
  let cookie: string;
  let trials: TrialRecord[];
  const get = (path: string) => request(fx, 'GET', path, { cookie });
  const trial = (hash: string, runDate: string) => trials.find((t) => t.configHash === hash && t.runDate === runDate)!;

  beforeAll(async () => {
    fx = await startDashboardFixture({ failedJob: false, now: () => TRIALS_NOW });
    trials = await seedTrials(fx.trials, fx.models);
    cookie = await login(fx);
  });
  afterAll(async () => {
    await fx?.close();
  });

  test("lists the last 90 days newest first without controls, and deflates the live model's trial", async () => {
    const r = await get('/symbols/BTC-USDT/trials');
    expect(r.status).toBe(200);
    // Newest first (run date, then recording order); the control and March's trial are not listed.
    expect(rows(r.body).map((t) => [t.config, t.runDate])).toEqual([
      [HASHES.b, '2026-07-15'],
      [HASHES.a, '2026-07-15'],
      [HASHES.a, '2026-07-14'],
      [HASHES.flat, '2026-07-10'],
    ]);
    expect(r.body).toContain('2026-04-17 → 2026-07-16');
    expect(r.body).toMatch(/id="counted">4</);
    expect(r.body).toMatch(/id="controls">1</);
    expect(r.body).toContain('not counted');

    // The candidate is the live model's trial: configuration A of 2026-07-15.
    const live = trial(HASHES.a, '2026-07-15');
    expect(rows(r.body).find((t) => t.cls.includes('candidate'))).toMatchObject({ config: HASHES.a, runDate: '2026-07-15' });
    expect(r.body).toContain('the live model&#39;s trial');
    const d = expected(trials, live, '2026-04-16');
    expect(d.n).toBe(4); // A twice, B, the flat one: not the control
    expect(cell(r.body, 'n')).toBe('4');
    expect(cell(r.body, 'n_effective')).toBe(String(d.n_effective));
    expect(cell(r.body, 'variance')).toBe(fmtNum(d.variance));
    expect(cell(r.body, 'sr0')).toBe(fmtNum(d.sr0));
    expect(cell(r.body, 'sharpe')).toBe(fmtNum(live.sharpe));
    expect(cell(r.body, 'dsr')).toBe(fmtNum(Math.min(d.dsr_iid, d.dsr_robust)));
    expect(cell(r.body, 'dsr_effective')).toBe(fmtNum(d.dsr_effective));
    expect(cell(r.body, 'min_track_record_days')).toBe(fmtNum(Number.isFinite(d.min_track_record_days) ? Math.ceil(d.min_track_record_days) : d.min_track_record_days));

    // The histogram: the three counted trials with a Sharpe (the flat one has none), the candidate and SR0 marked.
    expect(sum(barCounts(r.body))).toBe(3);
    expect(r.body).toContain(`<g class="candidate" data-x="${live.sharpe}">`);
    expect(r.body).toContain(`<g class="sr0" data-x="${d.sr0}">`);
    expect(r.body).toContain('1 counted trial(s) without a Sharpe');

    // Each row: short hash with the full one in the title, daily and annualised Sharpe, PSR(0), T.
    expect(r.body).toContain(`title="${HASHES.a} (make it the candidate)">ab12cd34aaaa</a>`);
    expect(r.body).toContain(`<td class="num">${fmtNum(live.sharpe)}</td><td class="num">${fmtNum(live.sharpe! * Math.sqrt(365))}</td><td class="num">${fmtNum(live.psr0)}</td>`);
    // Model pages are linked where the registry has the model; a sweep's model id is shown, not linked.
    expect(r.body).toContain(`href="/models/${fx.models.btcNew.id}"`);
    expect(r.body).toContain(`href="/models/${fx.models.btcOld.id}"`);
    expect(r.body).not.toContain(`href="/models/${SWEEP_MODEL_ID}"`);
    expect(r.body).toContain(`title="${SWEEP_MODEL_ID}: not in the registry`);
  });

  test('free text from the ledger is escaped', async () => {
    const r = await get('/symbols/BTC-USDT/trials');
    expect(r.body).not.toContain(XSS_FAMILY);
    expect(r.body).not.toContain(XSS_SOURCE);
    expect(r.body).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(r.body).toContain('&lt;img src=x onerror=alert(1)&gt;');
  });

  test('controls=1 lists the control, which is still not counted', async () => {
    const r = await get('/symbols/BTC-USDT/trials?controls=1');
    expect(r.status).toBe(200);
    const listed = rows(r.body);
    expect(listed).toHaveLength(5);
    expect(listed.filter((t) => t.control).map((t) => t.config)).toEqual([HASHES.control]);
    expect(cell(r.body, 'n')).toBe('4');
    expect(sum(barCounts(r.body))).toBe(3);
  });

  test('?candidate= picks a configuration by a unique prefix or its full hash', async () => {
    const b = trial(HASHES.b, '2026-07-15');
    const rb = await get('/symbols/BTC-USDT/trials?candidate=ab12cd34b');
    expect(rb.status).toBe(200);
    expect(rb.body).toContain('chosen with ?candidate=');
    expect(rows(rb.body).find((t) => t.cls.includes('candidate'))).toMatchObject({ config: HASHES.b });
    const d = expected(trials, b, '2026-04-16');
    expect(cell(rb.body, 'n')).toBe('4');
    expect(cell(rb.body, 'dsr')).toBe(fmtNum(d.dsr));
    expect(rb.body).toContain(`<g class="candidate" data-x="${b.sharpe}">`);

    // The full hash of A: its newest run is the candidate.
    const ra = await get(`/symbols/BTC-USDT/trials?candidate=${HASHES.a.toUpperCase()}`);
    expect(ra.status).toBe(200);
    expect(rows(ra.body).find((t) => t.cls.includes('candidate'))).toMatchObject({ config: HASHES.a, runDate: '2026-07-15' });

    // A control as the candidate is judged against the counted trials, never counted itself in the histogram.
    const rc = await get(`/symbols/BTC-USDT/trials?candidate=${HASHES.control.slice(0, 8)}`);
    expect(rc.status).toBe(200);
    expect(rc.body).toContain('never counted itself');
    expect(cell(rc.body, 'n')).toBe(String(expected(trials, trial(HASHES.control, '2026-07-15'), '2026-04-16').n));
    expect(sum(barCounts(rc.body))).toBe(3);
  });

  test('?days= widens the window, and the deflation counts the 90 days before the candidate', async () => {
    const r = await get('/symbols/BTC-USDT/trials?days=200');
    expect(rows(r.body).map((t) => t.config)).toContain(HASHES.old);
    expect(cell(r.body, 'n')).toBe('4'); // the live candidate's lookback does not reach March
    const old = await get(`/symbols/BTC-USDT/trials?days=200&candidate=${HASHES.old.slice(0, 10)}`);
    expect(old.status).toBe(200);
    expect(cell(old.body, 'n')).toBe('1');
    expect(old.body).toContain('2025-12-01 → 2026-03-01');
  });

  test.each([
    ['days=0', /days must be a whole number of days from 1 to 730, got &#39;0&#39;/],
    ['days=731', /from 1 to 730/],
    ['days=7.5', /from 1 to 730/],
    ['days=%3Cscript%3Ealert(1)%3C%2Fscript%3E', /got &#39;&lt;script&gt;alert\(1\)&lt;\/script&gt;&#39;/],
    ['days=30&days=60', /&#39;days&#39; must be given once/],
    ['controls=yes', /controls must be 1 \(list them\) or 0/],
    ['candidate=ab12cd3', /a prefix of one of at least 8/],
    ['candidate=not-a-hash', /candidate must be a config hash/],
    ['candidate=ab12cd34', /matches 2 configurations of BTC\/USDT/],
  ])('?%s is refused with 400 and a reason', async (qs, reason) => {
    const r = await get(`/symbols/BTC-USDT/trials?${qs}`);
    expect(r.status).toBe(400);
    expect(r.body).toMatch(reason);
    expect(r.body).not.toMatch(/at .*\.(ts|js):\d+/); // no stack trace
    expect(r.body).not.toContain('<script>');
  });

  test('a candidate outside the window, an unknown symbol and a malformed one are 404', async () => {
    const out = await get(`/symbols/BTC-USDT/trials?candidate=${HASHES.old}`);
    expect(out.status).toBe(404);
    expect(out.body).toContain('no trial of BTC/USDT with a config hash starting');
    const unknown = await get('/symbols/DOGE-USDT/trials');
    expect(unknown.status).toBe(404);
    expect(unknown.body).toContain('DOGE/USDT is not a symbol of this fleet');
    for (const slug of ['btc-usdt', 'BTC_USDT', 'BTC-USDT-X']) {
      const r = await get(`/symbols/${slug}/trials`);
      expect(r.status).toBe(404);
      expect(r.body).toContain('is not a symbol');
    }
  });

  test('a symbol of the fleet with an empty ledger gets a friendly page', async () => {
    const r = await get('/symbols/ETH-USDT/trials');
    expect(r.status).toBe(200);
    expect(r.body).toContain('No trials recorded for ETH/USDT in the last 90 days');
    expect(r.body).toContain('href="/symbols/ETH-USDT/trials?days=730"');
  });

  test('the symbol and model pages link to the trials page', async () => {
    expect((await get('/symbols/BTC-USDT')).body).toContain('id="trials-link" href="/symbols/BTC-USDT/trials"');
    expect((await get(`/models/${fx.models.eth.id}`)).body).toContain('id="trials-link" href="/symbols/ETH-USDT/trials"');
  });

  test("the model page shows what the manifest counted: N, V, SR0, DSR, MinTRL and the run's adjusted p", async () => {
    const body = (await get(`/models/${fx.models.btcNew.id}`)).body;
    const d = (await fx.registry.getModel(fx.models.btcNew.id))!.manifest.deflated_sharpe as { n: number; dsr: number };
    expect(body).toContain('<h2>Every trial counted</h2>');
    expect(body).toMatch(/<tr data-count="trials N"><td>trials N<\/td><td class="num mono">1<\/td><td class="small">no ledger consulted: this evaluation alone/);
    expect(body).toContain(`<tr data-count="DSR"><td>DSR</td><td class="num mono">${Number(d.dsr.toPrecision(4))}</td>`);
    for (const k of ['effective N', 'V', 'SR₀', 'PSR(0)', 'MinTRL (days)', 'FDR p', 'BY-adjusted p']) expect(body).toContain(`data-count="${k}"`);
    expect(body).toMatch(/over the run&#39;s 1 candidate\(s\) at q = 0\.05: (survived|rejected) \(run-2026-07-15\)/);
    // The break-even cost and its curves (issue 16, item 5).
    const be = (await fx.registry.getModel(fx.models.btcNew.id))!.manifest.break_even as { round_trip_bps: number | null; paid_round_trip_bps: number };
    expect(be.paid_round_trip_bps).toBeCloseTo(23, 9);
    expect(body).toContain('<h2>Break-even cost</h2>');
    expect(body).toContain(be.round_trip_bps === null ? 'No break-even' : `Break-even round-trip cost <b class="mono">${be.round_trip_bps.toFixed(2)} bps</b>`);
    expect(body).toMatch(/<div class="plot-box" id="cost-curve"><svg[^>]*id="cost-sharpe"[\s\S]*id="cost-pf"/);
    // Non-default settings are flagged before any number, and a stale model says it expired (issue 19).
    expect(body).toMatch(/<div class="banner warn" id="non-default"><b>Trained with non-default settings<\/b>[\s\S]*threshold\.min_trades: 5 \(default 10\)/);
    expect(body).toMatch(/<span id="expires" class="reason">expired 2026-07-17/);
    // A manifest from before the ledger says so instead of showing blanks.
    const eth = (await get(`/models/${fx.models.eth.id}`)).body;
    expect(eth).toContain('This manifest predates the trial ledger');
    expect(eth).toContain('This manifest predates the break-even cost');
    expect(eth).not.toContain('id="non-default"');
    expect(eth).not.toContain('id="expires"');
  });

  test('a model with non-default settings is flagged on the fleet and symbol pages too (issue 19)', async () => {
    const fleet = (await get('/')).body;
    const btcRow = fleet.slice(fleet.indexOf('<tr data-symbol="BTC/USDT">'), fleet.indexOf('</tr>', fleet.indexOf('<tr data-symbol="BTC/USDT">')));
    expect(btcRow).toContain('data-non-default title="threshold.min_trades: 5 (default 10)"');
    const sym = (await get('/symbols/BTC-USDT')).body;
    const row = (id: string) => sym.slice(sym.indexOf(`<tr data-model="${id}"`), sym.indexOf('</tr>', sym.indexOf(`<tr data-model="${id}"`)));
    expect(row(fx.models.btcNew.id)).toContain('non-default settings');
    expect(row(fx.models.btcOld.id)).not.toContain('non-default settings');
  });

  test('the table is capped at 500 rows and says how many were left out', async () => {
    // SOL/USDT: 503 evaluations of one run date that never traded (T = 0).
    const hash = (i: number) => i.toString(16).padStart(64, '0');
    for (let i = 0; i < 503; i += 50) {
      await Promise.all(
        Array.from({ length: Math.min(50, 503 - i) }, (_, k) =>
          fx.trials.record({ symbol: 'SOL/USDT', runDate: '2026-07-15', configHash: hash(i + k), modelFamily: 'gbdt', seed: null, isControl: false, modelId: null, source: 'sweep', oosDays: 0, sharpe: null, skew: 0, kurtosis: 3, psr0: 0, firstDay: null, dailyPnl: [] }),
        ),
      );
    }
    const r = await get('/symbols/SOL-USDT/trials');
    expect(r.status).toBe(200);
    expect(rows(r.body)).toHaveLength(500);
    expect(r.body).toContain('data-left-out="3"');
    expect(r.body).toContain('3 older rows of the window are left out');
    expect(cell(r.body, 'n')).toBe('503');
  });
});
