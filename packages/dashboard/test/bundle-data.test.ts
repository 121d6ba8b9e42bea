import { drawdown, readEquity, readFolds, readImportance } from '../src/bundle-data';

const files = (o: Record<string, unknown>) => new Map(Object.entries(o).map(([k, v]) => [k, Buffer.from(typeof v === 'string' ? v : JSON.stringify(v))]));

describe('readEquity', () => {
  test('columns with fold windows', () => {
    const r = readEquity(files({ 'equity.json': { unit: 'GBP', t: [1, 2, 3], equity: [0, 5, 3], folds: [{ index: 0, test_start: 1, test_end: 2 }, { index: 1, test_start: 2, test_end: 3 }] } }));
    expect(r).toEqual({ ok: true, value: { t: [1, 2, 3], equity: [0, 5, 3], unit: 'GBP', folds: [{ index: 0, start: 1, end: 2 }, { index: 1, start: 2, end: 3 }] } });
  });

  test("the trainer's shape: rows with ISO exit times, boundaries as fold objects", () => {
    const r = readEquity(files({ 'equity.json': {
      description: 'out-of-sample equity curve',
      currency: 'GBP',
      fold_boundaries: [{ fold: 1, test_start: '2026-01-06T00:00:00.000Z', test_end: '2026-01-11T00:00:00.000Z' }, { fold: 0, test_start: '2026-01-01T00:00:00.000Z', test_end: '2026-01-06T00:00:00.000Z' }],
      points: [{ exit: '2026-01-01T10:00:00.000Z', fold: 0, net_bps: 12, equity_gbp: 1.2, equity_bps: 12, exit_reason: 'tp' }, { exit: '2026-01-07T10:00:00.000Z', fold: 1, net_bps: -5, equity_gbp: 0.7, equity_bps: 7, exit_reason: 'sl' }],
      daily: [],
    } }));
    expect(r).toEqual({ ok: true, value: {
      t: [Date.UTC(2026, 0, 1, 10), Date.UTC(2026, 0, 7, 10)],
      equity: [1.2, 0.7],
      unit: 'GBP',
      folds: [{ index: 0, start: Date.UTC(2026, 0, 1), end: Date.UTC(2026, 0, 6) }, { index: 1, start: Date.UTC(2026, 0, 6), end: Date.UTC(2026, 0, 11) }],
    } });
  });

  test('rows with ISO times and bare boundaries', () => {
    const r = readEquity(files({ 'equity.json': { points: [{ t: '2026-01-01T00:00:00Z', equity: 1 }, { t: '2026-01-02T00:00:00Z', equity: 2 }], fold_boundaries: [Date.UTC(2026, 0, 1)] } }));
    expect(r.ok && r.value.t).toEqual([Date.UTC(2026, 0, 1), Date.UTC(2026, 0, 2)]);
    expect(r.ok && r.value.folds).toEqual([{ index: 0, start: Date.UTC(2026, 0, 1), end: null }]);
  });

  test('says what is missing or wrong, never guesses', () => {
    const none = readEquity(files({ 'model.onnx': 'x' }));
    expect(none).toEqual({ ok: false, reason: 'the bundle has no equity.json (files: model.onnx)' });
    const bad = readEquity(files({ 'equity.json': '{not json' }));
    expect(!bad.ok && bad.reason).toMatch(/^equity.json is not valid JSON/);
    const shape = readEquity(files({ 'equity.json': { pnl: [1, 2] } }));
    expect(!shape.ok && shape.reason).toMatch(/no time and equity series .* found: pnl/);
    const len = readEquity(files({ 'equity.json': { t: [1, 2], equity: [1] } }));
    expect(!len.ok && len.reason).toBe('equity.json: 2 times but 1 equity values');
    const empty = readEquity(files({ 'equity.json': { t: [], equity: [] } }));
    expect(!empty.ok && empty.reason).toMatch(/empty curve/);
  });
});

test('drawdown is equity minus its running peak', () => {
  expect(drawdown([0, 5, 3, 6, 2, NaN, 7])).toEqual([0, 0, -2, 0, -4, NaN, 0]);
});

describe('readFolds', () => {
  test('an array or { folds }', () => {
    expect(readFolds(files({ 'folds.json': [{ index: 0, trades: 3 }] }))).toEqual({ ok: true, value: [{ index: 0, trades: 3 }] });
    expect(readFolds(files({ 'folds.json': { folds: [{ index: 0 }] } }))).toEqual({ ok: true, value: [{ index: 0 }] });
    const empty = readFolds(files({ 'folds.json': [] }));
    expect(!empty.ok && empty.reason).toBe('folds.json lists no folds');
  });
});

describe('readImportance', () => {
  test('names/values, a map, or rows — sorted largest first', () => {
    const a = readImportance(files({ 'importance.json': { kind: 'gain', names: ['a', 'b', 'c'], values: [1, 3, 2] } }), {});
    expect(a).toEqual({ ok: true, value: { kind: 'gain', items: [{ name: 'b', value: 3 }, { name: 'c', value: 2 }, { name: 'a', value: 1 }] } });
    const b = readImportance(files({ 'model.json': { trees: [], feature_importance: { x: 0.2, y: 0.8 } } }), {});
    expect(b.ok && b.value.items.map((i) => i.name)).toEqual(['y', 'x']);
    const native = readImportance(files({ 'model.json': { format: 'engine-gbdt', feature_names: ['f0', 'f1'], feature_importance: { gain: [0.5, 2.5], split: [3, 1] }, trees: [] } }), {});
    expect(native).toEqual({ ok: true, value: { kind: 'gain', items: [{ name: 'f1', value: 2.5 }, { name: 'f0', value: 0.5 }] } });
    const c = readImportance(new Map(), { feature_importance: [{ name: 'z', gain: 4 }] });
    expect(c.ok && c.value.items).toEqual([{ name: 'z', value: 4 }]);
    // The trainer's importance.json: features ranked by gain, with split counts beside.
    const t = readImportance(files({ 'importance.json': { model: 'model.json', features: [{ name: 'ret_5', gain: 10, splits: 3 }, { name: 'vol_60', gain: 30, splits: 1 }] } }), {});
    expect(t).toEqual({ ok: true, value: { kind: 'gain', items: [{ name: 'vol_60', value: 30 }, { name: 'ret_5', value: 10 }] } });
  });

  test('absent or malformed importance is explained', () => {
    const none = readImportance(files({ 'model.json': { trees: [] } }), {});
    expect(!none.ok && none.reason).toMatch(/^the bundle has no feature importance/);
    const nan = readImportance(files({ 'importance.json': { names: ['a'], values: [null] } }), {});
    expect(!nan.ok && nan.reason).toBe("importance.json: feature 'a' has importance NaN");
  });
});
