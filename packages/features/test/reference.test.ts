import { FEATURE_NAMES } from '../src';
import { compare, GOLDEN, readCsvGz } from './support/reference-compare';

// The pandas reference (reference/reference.py) itself is re-run by reference.integration.test.ts.
describe('reference test against an independent pandas implementation', () => {
  it('matches the committed golden output (2 000 rows × every feature)', () => {
    const checked = compare(readCsvGz(GOLDEN), 'golden');
    // Every feature but orderbook_imbalance (NaN without a book) is defined on these rows.
    expect(checked).toBe(2000 * (FEATURE_NAMES.length - 1));
  });
});
