/**
 * A compact validator for the subset of JSON Schema (draft 2020-12) that
 * manifest.schema.json uses: type, properties, required, additionalProperties,
 * propertyNames, items, prefixItems-free arrays, enum, const, minimum / maximum /
 * exclusiveMinimum, minLength, pattern, minItems, anyOf, $ref to `#/$defs/…`, and the
 * `date-time` and `uuid` formats. Keywords outside the subset are refused so the schema
 * cannot silently promise more than is checked.
 */
export type JsonSchema = boolean | { [k: string]: unknown };

const KNOWN = new Set([
  '$schema', '$id', '$defs', '$ref', '$comment', 'title', 'description', 'examples', 'default',
  'type', 'properties', 'required', 'additionalProperties', 'propertyNames', 'items', 'enum', 'const',
  'minimum', 'maximum', 'exclusiveMinimum', 'minLength', 'pattern', 'minItems', 'anyOf', 'format',
]);

const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function typeMatches(v: unknown, t: string): boolean {
  const actual = typeOf(v);
  return actual === t || (t === 'number' && actual === 'integer');
}

/** Validate `value` against `schema`; returns the errors as `path: message` (empty when valid). */
export function validateJsonSchema(value: unknown, schema: JsonSchema, root: JsonSchema = schema): string[] {
  const errors: string[] = [];
  walk(value, schema, root, '$', errors);
  return errors;
}

function resolveRef(ref: string, root: JsonSchema): JsonSchema {
  const m = /^#\/\$defs\/([A-Za-z0-9_]+)$/.exec(ref);
  const defs = typeof root === 'object' ? (root.$defs as Record<string, JsonSchema> | undefined) : undefined;
  const target = m && defs ? defs[m[1]!] : undefined;
  if (target === undefined) throw new Error(`schema $ref '${ref}' does not resolve (only #/$defs/NAME is supported)`);
  return target;
}

function walk(v: unknown, s: JsonSchema, root: JsonSchema, path: string, errors: string[]): void {
  if (s === true) return;
  if (s === false) {
    errors.push(`${path}: no value allowed here`);
    return;
  }
  for (const k of Object.keys(s)) if (!KNOWN.has(k)) throw new Error(`schema keyword '${k}' at ${path} is not supported by this validator`);
  if (typeof s.$ref === 'string') walk(v, resolveRef(s.$ref, root), root, path, errors);
  if (s.type !== undefined) {
    const types = Array.isArray(s.type) ? (s.type as string[]) : [s.type as string];
    if (!types.some((t) => typeMatches(v, t))) {
      errors.push(`${path}: expected ${types.join(' or ')}, found ${typeOf(v)}`);
      return;
    }
  }
  if (s.const !== undefined && JSON.stringify(v) !== JSON.stringify(s.const)) errors.push(`${path}: expected ${JSON.stringify(s.const)}, found ${JSON.stringify(v)}`);
  if (Array.isArray(s.enum) && !s.enum.some((e) => JSON.stringify(e) === JSON.stringify(v))) {
    errors.push(`${path}: expected one of ${JSON.stringify(s.enum)}, found ${JSON.stringify(v)}`);
  }
  if (Array.isArray(s.anyOf)) {
    const branches = (s.anyOf as JsonSchema[]).map((b) => validateJsonSchema(v, b, root).map((e) => e.replace(/^\$/, path)));
    if (!branches.some((b) => b.length === 0)) errors.push(`${path}: matches none of anyOf (${branches.map((b) => b[0]).join(' | ')})`);
  }
  if (typeof v === 'number') {
    if (typeof s.minimum === 'number' && v < s.minimum) errors.push(`${path}: ${v} < minimum ${s.minimum}`);
    if (typeof s.maximum === 'number' && v > s.maximum) errors.push(`${path}: ${v} > maximum ${s.maximum}`);
    if (typeof s.exclusiveMinimum === 'number' && v <= s.exclusiveMinimum) errors.push(`${path}: ${v} ≤ exclusiveMinimum ${s.exclusiveMinimum}`);
  }
  if (typeof v === 'string') {
    if (typeof s.minLength === 'number' && v.length < s.minLength) errors.push(`${path}: shorter than ${s.minLength}`);
    if (typeof s.pattern === 'string' && !new RegExp(s.pattern, 'u').test(v)) errors.push(`${path}: '${v}' does not match /${s.pattern}/`);
    if (s.format === 'date-time' && !(DATE_TIME.test(v) && !Number.isNaN(Date.parse(v)))) errors.push(`${path}: '${v}' is not an RFC 3339 date-time`);
    if (s.format === 'uuid' && !UUID.test(v)) errors.push(`${path}: '${v}' is not a UUID`);
  }
  if (Array.isArray(v)) {
    if (typeof s.minItems === 'number' && v.length < s.minItems) errors.push(`${path}: fewer than ${s.minItems} items`);
    if (s.items !== undefined) v.forEach((item, i) => walk(item, s.items as JsonSchema, root, `${path}[${i}]`, errors));
  }
  if (typeOf(v) === 'object') {
    const obj = v as Record<string, unknown>;
    const props = (s.properties ?? {}) as Record<string, JsonSchema>;
    if (Array.isArray(s.required)) for (const r of s.required as string[]) if (!(r in obj)) errors.push(`${path}: missing required '${r}'`);
    for (const [k, val] of Object.entries(obj)) {
      const p = `${path}.${k}`;
      if (s.propertyNames !== undefined) walk(k, s.propertyNames as JsonSchema, root, `${p} (name)`, errors);
      if (k in props) walk(val, props[k]!, root, p, errors);
      else if (s.additionalProperties !== undefined) walk(val, s.additionalProperties as JsonSchema, root, p, errors);
    }
  }
}
