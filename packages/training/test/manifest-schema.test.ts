import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ENGINE_VERSION, MANIFEST_JSON_SCHEMA, validateJsonSchema } from '../src';

const SCHEMA_FILE = path.resolve(__dirname, '..', 'schema', 'manifest.schema.json');

describe('manifest JSON Schema', () => {
  it('is published as packages/training/schema/manifest.schema.json, equal to the schema the code validates with', () => {
    const published: unknown = JSON.parse(readFileSync(SCHEMA_FILE, 'utf8'));
    expect(published).toEqual(MANIFEST_JSON_SCHEMA);
    expect(MANIFEST_JSON_SCHEMA.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
  });

  it('records the package version as the engine version', () => {
    const pkg = JSON.parse(readFileSync(path.resolve(__dirname, '..', 'package.json'), 'utf8')) as { version: string };
    expect(ENGINE_VERSION).toBe(pkg.version);
  });
});

describe('the JSON Schema validator subset', () => {
  const schema = {
    type: 'object',
    required: ['id', 'n', 'tags', 'kind'],
    additionalProperties: false,
    properties: {
      id: { type: 'string', format: 'uuid' },
      n: { type: 'integer', minimum: 0, maximum: 10 },
      x: { type: ['number', 'null'] },
      tags: { type: 'array', items: { type: 'string', pattern: '^[a-z]+$' }, minItems: 1 },
      kind: { anyOf: [{ const: 'a' }, { $ref: '#/$defs/b' }] },
      when: { type: 'string', format: 'date-time' },
    },
    $defs: { b: { type: 'object', required: ['b'], properties: { b: { enum: [1, 2] } } } },
  };
  const ok = { id: '8f14e45f-ceea-467a-9af0-2b3c1a4d5e6f', n: 3, x: null, tags: ['ab'], kind: { b: 2 }, when: '2026-04-01T02:00:00.000Z' };

  it('accepts a valid document', () => {
    expect(validateJsonSchema(ok, schema)).toEqual([]);
  });

  it('reports each kind of violation with its path', () => {
    const errs = validateJsonSchema({ ...ok, id: 'nope', n: 11.5, tags: [], kind: { b: 3 }, extra: 1, when: 'yesterday' }, schema);
    expect(errs).toEqual(
      expect.arrayContaining([
        "$.id: 'nope' is not a UUID",
        '$.n: expected integer, found number',
        '$.tags: fewer than 1 items',
        expect.stringMatching(/^\$\.kind: matches none of anyOf/),
        '$.extra: no value allowed here',
        "$.when: 'yesterday' is not an RFC 3339 date-time",
      ]),
    );
    expect(validateJsonSchema({ n: -1, tags: ['A'] }, schema)).toEqual(
      expect.arrayContaining(["$: missing required 'id'", '$.n: -1 < minimum 0', "$.tags[0]: 'A' does not match /^[a-z]+$/"]),
    );
  });

  it('refuses schema keywords it does not implement, rather than ignoring them', () => {
    expect(() => validateJsonSchema(1, { type: 'number', multipleOf: 2 })).toThrow(/keyword 'multipleOf'/);
  });
});
