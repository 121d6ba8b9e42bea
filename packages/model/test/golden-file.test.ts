import { readFileSync } from 'node:fs';
import path from 'node:path';
import { GOLDEN_TOLERANCE, goldenRelativeError, reproducesGolden, validateGolden } from '../src';

/** golden.json as `trainSymbol` wrote it for ETH/USDT (real candles, 2026-02-01 … 02-11, small settings). */
const REAL_TEXT = readFileSync(path.join(__dirname, 'fixtures', 'golden-eth-usdt.json'), 'utf8');
const copy = (): Record<string, unknown> & { rows: Record<string, unknown>[] } => JSON.parse(REAL_TEXT) as Record<string, unknown> & { rows: Record<string, unknown>[] };

describe('validateGolden', () => {
  it('accepts golden.json as training writes it, missing inputs as null and the all-missing row last', () => {
    const r = validateGolden(JSON.parse(REAL_TEXT));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const g = r.golden;
    expect(g.rows.length).toBe(25);
    expect(g.rows[0]).toMatchObject({ row: 0, ts: '2026-02-01T00:00:00.000Z' });
    expect(g.rows[0]!.inputs.some((v) => v === null)).toBe(true);
    const last = g.rows[g.rows.length - 1]!;
    expect(last).toMatchObject({ row: null, ts: null });
    expect(last.inputs.every((v) => v === null)).toBe(true);
    expect(g.rows.every((row) => row.inputs.length === g.feature_names.length)).toBe(true);
  });

  it('names the row and the field of every problem', () => {
    const g = copy();
    (g.rows[3]!.inputs as unknown[]).pop();
    g.rows[5]!.predicted_edge_bps = '1.5';
    delete g.rows[7]!.confidence;
    g.surprise = true;
    const r = validateGolden(g);
    expect(r.ok ? [] : r.problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^rows\.5\.predicted_edge_bps: .*expected number, received string/),
        expect.stringMatching(/^rows\.7\.confidence: /),
        expect.stringMatching(/^\(golden\.json\): .*surprise/),
      ]),
    );
    // Row widths are checked once every row has the right shape.
    const narrow = copy();
    (narrow.rows[3]!.inputs as unknown[]).pop();
    const n = validateGolden(narrow);
    expect(n.ok ? [] : n.problems).toEqual([`rows.3.inputs: expected ${(narrow.feature_names as string[]).length} inputs (one per feature_names entry), found ${(narrow.feature_names as string[]).length - 1}`]);
  });

  it('refuses a file without rows', () => {
    const r = validateGolden({ ...copy(), rows: [] });
    expect(r.ok ? [] : r.problems).toEqual([expect.stringMatching(/^rows: /)]);
  });
});

describe('the golden-vector rule', () => {
  it('is relative above 1 and absolute below, with the same number', () => {
    expect(GOLDEN_TOLERANCE).toBe(1e-5);
    expect(reproducesGolden(1000 + 0.009, 1000)).toBe(true);
    expect(reproducesGolden(1000 + 0.011, 1000)).toBe(false);
    expect(reproducesGolden(0.01 + 0.9e-5, 0.01)).toBe(true);
    expect(reproducesGolden(0.01 + 1.1e-5, 0.01)).toBe(false);
    expect(goldenRelativeError(-200.004, -200)).toBeCloseTo(2e-5, 12);
  });

  it('matches NaN only with NaN', () => {
    expect(reproducesGolden(Number.NaN, Number.NaN)).toBe(true);
    expect(reproducesGolden(Number.NaN, 0)).toBe(false);
    expect(reproducesGolden(0, Number.NaN)).toBe(false);
  });
});
