import { tableFromIPC } from 'apache-arrow';
import { buildFeatures, decodeFeatureFrame, encodeFeatureFrame, FEATURE_NAMES, recipeHash } from '../src';
import { realPair } from './support/real-data';

describe('Arrow IPC encoding of a feature frame', () => {
  it('round-trips ts and every feature column bit for bit, NaN included, with the recipe identity in the metadata', () => {
    const { candles, reference } = realPair('TAO/USDT', 0, 1500);
    const frame = buildFeatures(candles, { reference });
    const bytes = encodeFeatureFrame(frame);
    const table = tableFromIPC(bytes);
    expect(table.numRows).toBe(1500);
    expect(table.schema.fields.map((f) => f.name)).toEqual(['ts', ...FEATURE_NAMES]);
    expect(table.schema.metadata.get('engine.recipe.hash')).toBe(recipeHash);
    const back = decodeFeatureFrame(bytes);
    expect(back.symbol).toBe('TAO/USDT');
    expect(back.referenceSymbol).toBe('BTC/USDT');
    expect(back.warmup).toBe(frame.warmup);
    expect(back.ts).toEqual(candles.ts);
    back.columns.forEach((col, k) => expect(col).toEqual(frame.columns[k]));
  });
});
