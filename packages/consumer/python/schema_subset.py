"""A small JSON Schema validator (Python standard library only).

Hamilton machines may not have the `jsonschema` package, and a model manifest must be
validated before any of its numbers are trusted. This module implements the subset of
JSON Schema (draft 2020-12 / draft-07 keywords) that Engine's published
`manifest.schema.json` uses. A keyword it does not know is an error, never silently
ignored: a validator that skips what it cannot check would report "valid" for a
manifest it never looked at.

Usage::

    from schema_subset import validate
    errors = validate(instance, schema)   # [] when valid
    for e in errors: print(e)             # "$.metrics.sharpe_ratio: expected number, found str"

`load_model.py` uses the `jsonschema` package instead when it is importable (and borrows
this module's rule for a format jsonschema's checker cannot check); `--validator subset`
forces this one.
"""

import math
import re

__all__ = ["validate", "SchemaError", "type_name", "FORMATS"]

# Keywords that only annotate; they never change whether an instance is valid.
_ANNOTATIONS = {
    "$schema", "$id", "$comment", "$anchor", "title", "description", "default",
    "examples", "deprecated", "readOnly", "writeOnly", "$defs", "definitions",
    "contentMediaType", "contentEncoding",
}

_SUPPORTED = _ANNOTATIONS | {
    "type", "enum", "const", "properties", "required", "additionalProperties",
    "patternProperties", "propertyNames", "minProperties", "maxProperties", "items",
    "prefixItems", "minItems", "maxItems", "uniqueItems", "contains", "minimum", "maximum",
    "exclusiveMinimum", "exclusiveMaximum", "multipleOf", "minLength", "maxLength",
    "pattern", "format", "allOf", "anyOf", "oneOf", "not", "$ref", "if", "then", "else",
}

FORMATS = {
    "date-time": re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$"),
    "date": re.compile(r"^\d{4}-\d{2}-\d{2}$"),
    "uuid": re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"),
}


class SchemaError(Exception):
    """The schema itself uses something this validator does not implement."""


def _type_ok(value, t):
    if t == "null":
        return value is None
    if t == "boolean":
        return isinstance(value, bool)
    if t == "object":
        return isinstance(value, dict)
    if t == "array":
        return isinstance(value, list)
    if t == "string":
        return isinstance(value, str)
    if t == "integer":
        if isinstance(value, bool):
            return False
        return isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    if t == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    raise SchemaError("unknown type %r" % (t,))


def type_name(value):
    """The JSON type of a Python value, as the error messages name it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _equal(a, b):
    # JSON equality: 1 == 1.0 but True != 1.
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b))
    return a == b


def _resolve(root, ref):
    if not ref.startswith("#"):
        raise SchemaError("only local $ref ('#/...') is supported, found %r" % (ref,))
    node = root
    for part in ref[1:].split("/")[1:]:
        part = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, dict) or part not in node:
            raise SchemaError("$ref %r does not resolve" % (ref,))
        node = node[part]
    return node


def _check(value, schema, root, path, errors):
    if schema is True:
        return
    if schema is False:
        errors.append("%s: no value is allowed here" % path)
        return
    if not isinstance(schema, dict):
        raise SchemaError("%s: a schema must be an object or boolean" % path)
    unknown = set(schema) - _SUPPORTED
    if unknown:
        raise SchemaError("%s: unsupported schema keyword(s) %s" % (path, ", ".join(sorted(unknown))))

    if "$ref" in schema:
        _check(value, _resolve(root, schema["$ref"]), root, path, errors)

    if "type" in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(_type_ok(value, t) for t in types):
            errors.append("%s: expected %s, found %s" % (path, " or ".join(types), type_name(value)))
            return  # the other keywords would only repeat the type error
    if "enum" in schema and not any(_equal(value, e) for e in schema["enum"]):
        errors.append("%s: %r is not one of %r" % (path, value, schema["enum"]))
    if "const" in schema and not _equal(value, schema["const"]):
        errors.append("%s: expected %r, found %r" % (path, schema["const"], value))

    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if isinstance(value, float) and not math.isfinite(value):
            errors.append("%s: %r is not a JSON number" % (path, value))
        if "minimum" in schema and value < schema["minimum"]:
            errors.append("%s: %r is below the minimum %r" % (path, value, schema["minimum"]))
        if "maximum" in schema and value > schema["maximum"]:
            errors.append("%s: %r is above the maximum %r" % (path, value, schema["maximum"]))
        if "exclusiveMinimum" in schema and value <= schema["exclusiveMinimum"]:
            errors.append("%s: %r must be > %r" % (path, value, schema["exclusiveMinimum"]))
        if "exclusiveMaximum" in schema and value >= schema["exclusiveMaximum"]:
            errors.append("%s: %r must be < %r" % (path, value, schema["exclusiveMaximum"]))
        if "multipleOf" in schema:
            q = value / schema["multipleOf"]
            if abs(q - round(q)) > 1e-9:
                errors.append("%s: %r is not a multiple of %r" % (path, value, schema["multipleOf"]))

    if isinstance(value, str):
        if "minLength" in schema and len(value) < schema["minLength"]:
            errors.append("%s: string shorter than %d" % (path, schema["minLength"]))
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            errors.append("%s: string longer than %d" % (path, schema["maxLength"]))
        if "pattern" in schema and not re.search(schema["pattern"], value):
            errors.append("%s: %r does not match /%s/" % (path, value, schema["pattern"]))
        fmt = schema.get("format")
        if fmt in FORMATS and not FORMATS[fmt].match(value):
            errors.append("%s: %r is not a %s" % (path, value, fmt))

    if isinstance(value, list):
        if "minItems" in schema and len(value) < schema["minItems"]:
            errors.append("%s: %d items, at least %d required" % (path, len(value), schema["minItems"]))
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            errors.append("%s: %d items, at most %d allowed" % (path, len(value), schema["maxItems"]))
        if schema.get("uniqueItems"):
            for i in range(len(value)):
                for j in range(i):
                    if _equal(value[i], value[j]):
                        errors.append("%s: items %d and %d are equal" % (path, j, i))
        prefix = schema.get("prefixItems", [])
        for i, (item, sub) in enumerate(zip(value, prefix)):
            _check(item, sub, root, "%s[%d]" % (path, i), errors)
        items = schema.get("items")
        if isinstance(items, list):  # draft-07 tuple form
            for i, (item, sub) in enumerate(zip(value, items)):
                _check(item, sub, root, "%s[%d]" % (path, i), errors)
        elif items is not None:
            for i in range(len(prefix), len(value)):
                _check(value[i], items, root, "%s[%d]" % (path, i), errors)
        if "contains" in schema:
            if not any(not _sub_errors(item, schema["contains"], root, path) for item in value):
                errors.append("%s: no item matches 'contains'" % path)

    if isinstance(value, dict):
        props = schema.get("properties", {})
        for name in schema.get("required", []):
            if name not in value:
                errors.append("%s: required property '%s' is missing" % (path, name))
        if "minProperties" in schema and len(value) < schema["minProperties"]:
            errors.append("%s: fewer than %d properties" % (path, schema["minProperties"]))
        if "maxProperties" in schema and len(value) > schema["maxProperties"]:
            errors.append("%s: more than %d properties" % (path, schema["maxProperties"]))
        patterns = schema.get("patternProperties", {})
        for name, item in value.items():
            sub_path = "%s.%s" % (path, name)
            matched = False
            if name in props:
                matched = True
                _check(item, props[name], root, sub_path, errors)
            for pat, sub in patterns.items():
                if re.search(pat, name):
                    matched = True
                    _check(item, sub, root, sub_path, errors)
            if not matched and "additionalProperties" in schema:
                extra = schema["additionalProperties"]
                if extra is False:
                    errors.append("%s: property '%s' is not allowed" % (path, name))
                else:
                    _check(item, extra, root, sub_path, errors)
            if "propertyNames" in schema:
                _check(name, schema["propertyNames"], root, "%s (name %r)" % (path, name), errors)

    for sub in schema.get("allOf", []):
        _check(value, sub, root, path, errors)
    if "anyOf" in schema:
        if all(_sub_errors(value, sub, root, path) for sub in schema["anyOf"]):
            errors.append("%s: matches none of anyOf" % path)
    if "oneOf" in schema:
        n = sum(1 for sub in schema["oneOf"] if not _sub_errors(value, sub, root, path))
        if n != 1:
            errors.append("%s: matches %d of oneOf, exactly 1 required" % (path, n))
    if "not" in schema and not _sub_errors(value, schema["not"], root, path):
        errors.append("%s: must not match the 'not' schema" % path)
    if "if" in schema:
        branch = "then" if not _sub_errors(value, schema["if"], root, path) else "else"
        if branch in schema:
            _check(value, schema[branch], root, path, errors)


def _sub_errors(value, schema, root, path):
    errs = []
    _check(value, schema, root, path, errs)
    return errs


def validate(instance, schema):
    """Validate `instance` against `schema`; return a list of error strings ([] = valid).

    Raises SchemaError when the schema uses a keyword outside the supported subset.
    """
    errors = []
    _check(instance, schema, schema, "$", errors)
    return errors
