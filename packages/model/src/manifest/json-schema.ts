import { z } from 'zod';
import { manifestSchema } from './manifest';

/** Where the generated schema is published (relative to the repository root). */
export const MANIFEST_SCHEMA_FILE = 'packages/model/schema/manifest.schema.json';

/**
 * `manifest.schema.json`: JSON Schema (draft 2020-12) generated from {@link manifestSchema},
 * the one definition. Published as packages/model/schema/manifest.schema.json for Python
 * (and any other language); a test keeps the file equal to this, and
 * `npm run schema` rewrites it after a change.
 */
export function manifestJsonSchema(): Record<string, unknown> {
  const generated = z.toJSONSchema(manifestSchema, { target: 'draft-2020-12', unrepresentable: 'throw' }) as Record<string, unknown>;
  return {
    $schema: generated.$schema,
    $id: 'https://engine.local/schema/manifest.schema.json',
    title: 'Engine ModelManifest',
    ...generated,
  };
}

/** The file's bytes: 2-space JSON with a final newline. */
export function manifestJsonSchemaText(): string {
  return `${JSON.stringify(manifestJsonSchema(), null, 2)}\n`;
}
