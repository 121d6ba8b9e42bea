import { drawdown, readEquity, readFolds, readImportance } from '../src/bundle-data';
import { buildBundle } from './support/seed-bundles';

const files = (o: Record<string, unknown>) => new Map(Object.entries(o).map(([k, v]) => [k, Buffer.from(typeof v === 'string' ? v : JSON.stringify(v))]));

/** equity.json as the trainer writes it (packages/model's equityFileSchema). */
const EQUITY = {
  description: 'out-of-sample equity curve',
  currency: 'GBP',
  fold_boundaries: [
    { fold: 1, test_start: '2026-01-06T00:00:00.000Z', test_end: '2026-01-11T00:00:00.000Z' },
    { fold: 0, test_start: '2026-01-01T00:00:00.000Z', test_end: '2026-01-06T00:00:00.000Z' },
  ],
  points: [
    { exit: '2026-01-01T10:00:00.000Z', fold: 0, net_bps: 12, equity_gbp: 1.2, equity_bps: 12, exit_reason: 'tp' },
    { exit: '2026-01-07T10:00:00.000Z', fold: 1, net_bps: -5, equity_gbp: 0.7, equity_bps: 7, exit_reason: 'sl' },
  ],
  daily: [{ day: '2026-01-01', pnl_gbp: 1.2, trades: 1 }],
};

describe('readEquity', () => {
  test("the trainer's equity.json: exit times, GBP equity, fold windows by start", () => {
    expect(readEquity(files({ 'equity.json': EQUITY }))).toEqual({
      ok: true,
      value: {
        t: [Date.UTC(2026, 0, 1, 10), Date.UTC(2026, 0, 7, 10)],
        equity: [1.2, 0.7],
        unit: 'GBP',
        folds: [{ index: 0, start: Date.UTC(2026, 0, 1), end: Date.UTC(2026, 0, 6) }, { index: 1, start: Date.UTC(2026, 0, 6), end: Date.UTC(2026, 0, 11) }],
      },
    });
  });

  test('says what is missing or wrong, never guesses', () => {
    expect(readEquity(files({ 'model.onnx': 'x' }))).toEqual({ ok: false, reason: 'the bundle has no equity.json (files: model.onnx)' });
    const bad = readEquity(files({ 'equity.json': '{not json' }));
    expect(!bad.ok && bad.reason).toMatch(/^equity.json is not valid JSON/);
    // Another shape (columns, other key names) is not read as equity: the page says why.
    const shape = readEquity(files({ 'equity.json': { t: [1, 2], equity: [1, 2] } }));
    expect(!shape.ok && shape.reason).toMatch(/^equity\.json: /);
    const time = readEquity(files({ 'equity.json': { ...EQUITY, points: [{ ...EQUITY.points[0], exit: 'yesterday' }] } }));
    expect(!time.ok && time.reason).toMatch(/^equity\.json: points\.0\.exit: /);
    const empty = readEquity(files({ 'equity.json': { ...EQUITY, points: [] } }));
    expect(!empty.ok && empty.reason).toMatch(/empty curve/);
  });
});

test('drawdown is equity minus its running peak', () => {
  expect(drawdown([0, 5, 3, 6, 2, NaN, 7])).toEqual([0, 0, -2, 0, -4, NaN, 0]);
});

test('drawdown counts from the start: a first trade that loses is a drawdown (plot = card = CLI)', () => {
  expect(drawdown([-5, -2, -7, 1, -1])).toEqual([-5, -2, -7, 0, -2]);
  // The fixture bundles' equity curves against their manifests' max_drawdown (the card's number).
  // The dashboard fixture's three seeds (two published, one rejected).
  for (const spec of [
    { symbol: 'BTC/USDT', runDate: '2026-07-14', seed: 6, edgeGbp: 0.4, expect: 'published' },
    { symbol: 'BTC/USDT', runDate: '2026-07-15', seed: 19, edgeGbp: 0.4, expect: 'published' },
    { symbol: 'ETH/USDT', runDate: '2026-07-15', seed: 1, edgeGbp: -0.6, expect: 'rejected' },
  ] as const) {
    const b = buildBundle(spec);
    const eq = readEquity(new Map(b.files.map((f) => [f.name, f.bytes])));
    if (!eq.ok) throw new Error(eq.reason);
    const worst = -Math.min(...drawdown(eq.value.equity));
    expect(worst).toBeCloseTo(b.manifest.metrics.max_drawdown, 1);
  }
});

describe('readFolds', () => {
  const skipped = {
    fold: 0, train_start: '2026-01-01T00:00:00.000Z', train_end: '2026-01-21T00:00:00.000Z', test_start: '2026-01-21T00:00:00.000Z', test_end: '2026-01-26T00:00:00.000Z',
    skipped: true, skip_reason: 'training coverage 41.2% < 60% of minutes', train_rows: 0, test_rows: 0, purged: 0, embargoed: 0, coverage: { train: 0.412, test: 0.97 },
    threshold: null, rank_ic: null, mean_prediction_bps: null, mean_label_bps: null, metrics: null,
  };
  test("the trainer's folds.json", () => {
    expect(readFolds(files({ 'folds.json': [skipped] }))).toEqual({ ok: true, value: [skipped] });
  });
  test('an empty or foreign table is explained', () => {
    const empty = readFolds(files({ 'folds.json': [] }));
    expect(!empty.ok && empty.reason).toBe('folds.json lists no folds');
    const foreign = readFolds(files({ 'folds.json': [{ index: 0, trades: 3 }] }));
    expect(!foreign.ok && foreign.reason).toMatch(/^folds\.json: 0\./);
  });
});

describe('readImportance', () => {
  test("the trainer's importance.json, largest gain first", () => {
    const t = readImportance(files({ 'importance.json': { model: 'model.json', features: [{ name: 'ret_5', gain: 10, splits: 3 }, { name: 'vol_60', gain: 30, splits: 1 }] } }));
    expect(t).toEqual({ ok: true, value: { kind: 'gain', items: [{ name: 'vol_60', value: 30 }, { name: 'ret_5', value: 10 }] } });
  });

  test('absent or malformed importance is explained', () => {
    const none = readImportance(files({ 'model.json': { trees: [] } }));
    expect(!none.ok && none.reason).toBe('the bundle has no importance.json (files: model.json)');
    const bad = readImportance(files({ 'importance.json': { names: ['a'], values: [1] } }));
    expect(!bad.ok && bad.reason).toMatch(/^importance\.json: /);
  });
});
