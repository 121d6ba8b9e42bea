import { Field, Float64, makeData, RecordBatch, Schema, Struct, Table, tableFromIPC, tableToIPC } from 'apache-arrow';
import { DataError } from '@engine/shared';
import type { FeatureFrame } from './build-features';
import type { FeatureName } from './recipe';

/**
 * A FeatureFrame as Arrow IPC file bytes: a float64 `ts` column (candle open time, epoch
 * ms, as in the candle cache) then one float64 column per feature in recipe order; NaN is
 * a value (warm-up, gaps), not a null. The schema metadata carries the recipe identity so a
 * reader can refuse a frame built by another recipe. Pure: returns bytes, writes nothing.
 * Python: `pyarrow.ipc.open_file(path).read_all()`.
 */
export function encodeFeatureFrame(frame: FeatureFrame): Uint8Array {
  const n = frame.rows;
  const names = ['ts', ...frame.names];
  const fields = names.map((k) => new Field(k, new Float64(), false));
  const metadata = new Map<string, string>([
    ['engine.format', 'feature-frame/1'],
    ['engine.symbol', frame.symbol],
    ['engine.reference', frame.referenceSymbol ?? ''],
    ['engine.recipe.version', frame.recipe.version],
    ['engine.recipe.hash', frame.recipe.hash],
    ['engine.warmup', String(frame.warmup)],
  ]);
  const schema = new Schema(fields, metadata);
  const data = [frame.ts, ...frame.columns];
  const children = data.map((col) => makeData({ type: new Float64(), length: n, nullCount: 0, data: col.subarray(0, n) }));
  const batch = new RecordBatch(schema, makeData({ type: new Struct(fields), length: n, nullCount: 0, children }));
  return tableToIPC(new Table([batch]), 'file');
}

/** What `decodeFeatureFrame` returns: the columns by name plus the recorded identity. */
export interface DecodedFeatureFrame {
  symbol: string;
  referenceSymbol: string | null;
  recipe: { version: string; hash: string };
  warmup: number;
  ts: Float64Array;
  names: FeatureName[];
  columns: Float64Array[];
}

/** Read bytes written by {@link encodeFeatureFrame} (for tests and tools). */
export function decodeFeatureFrame(bytes: Uint8Array): DecodedFeatureFrame {
  const table = tableFromIPC(bytes);
  const meta = table.schema.metadata;
  if (meta.get('engine.format') !== 'feature-frame/1') {
    throw new DataError('FEATURES_FRAME_INVALID', `not a feature frame: engine.format is '${meta.get('engine.format') ?? ''}', expected 'feature-frame/1'`);
  }
  const column = (name: string): Float64Array => {
    const v = table.getChild(name)?.toArray() as unknown;
    if (!(v instanceof Float64Array)) throw new DataError('FEATURES_FRAME_INVALID', `feature frame column '${name}' is missing or not float64`);
    return v;
  };
  const names = table.schema.fields.map((f) => f.name).filter((n) => n !== 'ts') as FeatureName[];
  return {
    symbol: meta.get('engine.symbol') ?? '',
    referenceSymbol: meta.get('engine.reference') || null,
    recipe: { version: meta.get('engine.recipe.version') ?? '', hash: meta.get('engine.recipe.hash') ?? '' },
    warmup: Number(meta.get('engine.warmup')),
    ts: column('ts'),
    names,
    columns: names.map(column),
  };
}
