#!/usr/bin/env python3
"""Load an Engine model bundle from Python, the way a Python Hamilton should.

Every step refuses the model on the first problem, with a message that names the file and
what was expected vs found:

1. resolve the bundle: a bundle folder (``--bundle DIR``: model.onnx, manifest.json,
   golden.json, ...) or the symbol's live model in a publish folder (``--root DIR
   --symbol BTC/USDT``: ``DIR/Runpodhuracan/latest/BTC-USDT.json`` names the files; a
   local Dropbox sync folder works as well);
2. verify every file's SHA-256 against ``latest.json`` and ``manifest.json``'s
   ``artifacts``;
3. validate ``manifest.json`` against the published JSON Schema
   (``packages/model/schema/manifest.schema.json``) with the ``jsonschema`` package
   (Draft 2020-12, with its format checker) when it is importable, otherwise with the
   standard-library validator in ``schema_subset.py`` (``--validator`` picks one; the
   summary's ``validator`` says which ran);
4. optionally compare the manifest's feature-recipe hash with the one your feature code
   implements (``--recipe-hash``): a model trained on other features must not be used;
5. check ``model.onnx`` with ``onnx.checker`` when the ``onnx`` package is installed;
6. run the golden vectors through ``onnxruntime`` when it is installed, and refuse the
   model unless every output reproduces within the contract's rule,
   ``|got - expected| <= 1e-5 * max(1, |expected|)``. Without onnxruntime this step is
   skipped and the summary says so.

It prints one JSON line (``--json``) or a short report, and exits 0 when the model can be
used, 1 when it was refused, 2 on a usage error.

Example::

    python3 load_model.py --root /data/publish --symbol BTC/USDT --json

Then, in a trader (with onnxruntime installed)::

    import onnxruntime as ort, numpy as np
    sess = ort.InferenceSession(bundle.path("model.onnx"), providers=["CPUExecutionProvider"])
    x = np.asarray([feature_row], dtype=np.float32)   # columns in manifest order (see below)
    outputs = sess.run(None, {sess.get_inputs()[0].name: x})

The feature columns are ``manifest["feature_names"]``, in that order (the recipe's
names); your feature code must implement the recipe whose hash is
``manifest["feature_recipe"]["hash"]`` (the TypeScript FeatureState does) -- this script
cannot check that for you. ``model.onnx`` has two outputs: ``predicted_edge_bps`` and
``confidence`` (P(net edge > 0)). Trade with ``manifest["trading_params"]`` and exit with the barriers of
``manifest["labelling"]`` (see the package README).
"""

import argparse
import hashlib
import importlib.util
import json
import math
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from schema_subset import FORMATS as SUBSET_FORMATS, SchemaError, type_name, validate  # noqa: E402

DEFAULT_SCHEMA = os.path.normpath(
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "model", "schema", "manifest.schema.json")
)
DEFAULT_ROOT = "/Runpodhuracan"

# The golden-vector rule, the same for every reader: GOLDEN_TOLERANCE in
# packages/model/src/bundle-files/golden.ts (@engine/model), applied as
# |got - expected| <= GOLDEN_TOLERANCE * max(1, |expected|); NaN matches only NaN.
# golden.json's own "tolerance" entry is the writer's note and is not read.
GOLDEN_TOLERANCE = 1e-5


def golden_relative_error(got, expected):
    """|got - expected| / max(1, |expected|); 0 when both are NaN, NaN when only one is."""
    if math.isnan(got) and math.isnan(expected):
        return 0.0
    return abs(got - expected) / max(1.0, abs(expected))


class ModelRefused(Exception):
    """The bundle must not be used; the message says why."""


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def slug(symbol):
    m = re.match(r"^([A-Za-z0-9]+)[/-]([A-Za-z0-9]+)$", symbol.strip())
    if not m:
        raise ValueError("symbol %r is not BASE/QUOTE (e.g. BTC/USDT)" % symbol)
    return "%s-%s" % (m.group(1).upper(), m.group(2).upper())


def local_path(root_dir, remote):
    parts = [p for p in remote.split("/") if p]
    if not remote.startswith("/") or any(p in (".", "..") for p in parts):
        raise ModelRefused("latest.json names an unsafe path %r" % remote)
    return os.path.join(root_dir, *parts)


class Bundle:
    """The files of one model: bundle name -> local path, plus the parsed manifest."""

    def __init__(self, files, origin, pointer=None):
        self.files = files
        self.origin = origin
        self.pointer = pointer
        self.manifest = None

    def path(self, name):
        return self.files[name]


def resolve_bundle(args):
    if args.bundle:
        d = args.bundle
        if not os.path.isdir(d):
            raise ModelRefused("bundle folder %s does not exist" % d)
        files = {n: os.path.join(d, n) for n in sorted(os.listdir(d)) if os.path.isfile(os.path.join(d, n))}
        return Bundle(files, "bundle folder %s" % d)
    pointer_path = local_path(args.root, "%s/latest/%s.json" % (args.publish_root.rstrip("/"), slug(args.symbol)))
    if not os.path.isfile(pointer_path):
        raise ModelRefused("no published model for %s: %s does not exist" % (args.symbol, pointer_path))
    with open(pointer_path, "rb") as f:
        pointer = json.loads(f.read().decode("utf-8"))
    if pointer.get("schema") != 1 or not isinstance(pointer.get("files"), dict):
        raise ModelRefused("%s is not a schema-1 latest.json pointer" % pointer_path)
    files = {}
    for name, entry in sorted(pointer["files"].items()):
        p = local_path(args.root, entry["path"])
        if not os.path.isfile(p):
            raise ModelRefused("%s names %s for %r but it does not exist" % (pointer_path, p, name))
        found = sha256_file(p)
        if found != entry["sha256"]:
            raise ModelRefused("%r at %s has SHA-256 %s, latest.json expects %s" % (name, p, found, entry["sha256"]))
        files[name] = p
    return Bundle(files, pointer_path, pointer)


def verify_artifacts(bundle):
    if "manifest.json" not in bundle.files:
        raise ModelRefused("%s has no manifest.json" % bundle.origin)
    with open(bundle.path("manifest.json"), "rb") as f:
        manifest = json.loads(f.read().decode("utf-8"))
    bundle.manifest = manifest
    if bundle.pointer is not None and manifest.get("model_id") != bundle.pointer.get("model_id"):
        raise ModelRefused("latest.json names model %s but manifest.json is model %s" % (bundle.pointer.get("model_id"), manifest.get("model_id")))
    artifacts = manifest.get("artifacts")
    if not isinstance(artifacts, dict) or "model.onnx" not in artifacts:
        raise ModelRefused("manifest.json has no artifacts entry for model.onnx")
    for name, expected in sorted(artifacts.items()):
        if name not in bundle.files:
            raise ModelRefused("manifest.artifacts lists %r but the bundle has no such file" % name)
        found = sha256_file(bundle.path(name))
        if found != expected:
            raise ModelRefused("file %r has SHA-256 %s, manifest expects %s" % (name, found, expected))
    return sorted(artifacts)


def _json_path(parts):
    """``$.trading_params.cooldown_seconds``, ``$.gates.results[0].value``: the subset's paths."""
    out = "$"
    for p in parts:
        out += "[%d]" % p if isinstance(p, int) else ".%s" % p
    return out


def _jsonschema_problem(error):
    # Say type errors the way schema_subset does, so both validators read alike.
    if error.validator == "type":
        types = error.validator_value if isinstance(error.validator_value, list) else [error.validator_value]
        return "%s: expected %s, found %s" % (_json_path(error.absolute_path), " or ".join(types), type_name(error.instance))
    return "%s: %s" % (_json_path(error.absolute_path), error.message)


def _formats_used(node, found):
    if isinstance(node, dict):
        if isinstance(node.get("format"), str):
            found.add(node["format"])
        for v in node.values():
            _formats_used(v, found)
    elif isinstance(node, list):
        for v in node:
            _formats_used(v, found)
    return found


def _jsonschema_errors(manifest, schema, jsonschema):
    """All problems jsonschema finds (Draft 2020-12 with its format checker), and what ran.

    jsonschema checks some formats only when optional packages are installed (date-time
    needs rfc3339-validator); a format the schema uses that its checker lacks is checked
    with schema_subset's stdlib rule instead of being skipped, and the report says so.
    """
    cls = jsonschema.Draft202012Validator
    cls.check_schema(schema)
    checker = jsonschema.FormatChecker(())
    checker.checkers = dict(cls.FORMAT_CHECKER.checkers)  # a copy: the borrowed rules stay local
    borrowed = []
    for fmt in sorted(_formats_used(schema, set())):
        if fmt in checker.checkers:
            continue
        if fmt not in SUBSET_FORMATS:
            raise SchemaError("format %r is checked by neither jsonschema's format checker nor schema_subset" % fmt)
        rule = SUBSET_FORMATS[fmt]
        checker.checks(fmt)(lambda value, rule=rule: not isinstance(value, str) or bool(rule.match(value)))
        borrowed.append(fmt)
    try:
        from importlib.metadata import version
        ver = version("jsonschema")
    except Exception:  # metadata missing (vendored copy): the name is enough
        ver = "unknown"
    errors = sorted(cls(schema, format_checker=checker).iter_errors(manifest), key=lambda e: [str(p) for p in e.absolute_path])
    report = {"name": "jsonschema", "version": ver, "draft": "2020-12", "format_checker": True, "formats_from_subset": borrowed}
    return [_jsonschema_problem(e) for e in errors], report


def validate_manifest(manifest, schema_path, which="auto"):
    """Validate the manifest against the published schema: (problems, which validator ran).

    ``which``: ``auto`` (jsonschema when importable, else the stdlib subset), ``jsonschema``
    (refuse to run without it) or ``subset`` (the stdlib validator even when jsonschema is
    installed).
    """
    with open(schema_path, "r", encoding="utf-8") as f:
        schema = json.load(f)
    jsonschema = None
    if which in ("auto", "jsonschema"):
        try:
            import jsonschema
        except ImportError:
            if which == "jsonschema":
                raise SchemaError("--validator jsonschema: the jsonschema package is not installed (pip install jsonschema)")
    if jsonschema is not None:
        errors, report = _jsonschema_errors(manifest, schema, jsonschema)
    else:
        errors = validate(manifest, schema)
        report = {"name": "schema_subset", "reason": "forced by --validator subset" if which == "subset" else "jsonschema not installed"}
    return errors, report


def check_onnx(bundle):
    """onnx.checker on every .onnx file of the bundle (when the onnx package is installed)."""
    try:
        import onnx
    except ImportError:
        return {"checked": False, "reason": "python package onnx not installed"}
    report = {"checked": True, "models": {}}
    for name in sorted(n for n in bundle.files if n.endswith(".onnx")):
        model = onnx.load(bundle.path(name))
        onnx.checker.check_model(model)
        report["models"][name] = {
            "ir_version": model.ir_version,
            "opsets": {o.domain or "ai.onnx": o.version for o in model.opset_import},
            "inputs": [i.name for i in model.graph.input],
            "outputs": [o.name for o in model.graph.output],
            "nodes": [n.op_type for n in model.graph.node],
        }
    return report


# golden.json fields an ONNX output must reproduce (outputs are matched by name; a
# single-output confidence.onnx is the confidence).
GOLDEN_FIELDS = ("predicted_edge_bps", "confidence")


def run_golden(bundle):
    """Run golden.json's inputs through onnxruntime and compare with its expected outputs.

    golden.json: ``{"feature_names": [...], "rows": [{"inputs": [...], "predicted_edge_bps": x,
    "confidence": p}, ...]}``; an input ``null`` is a missing value (NaN). model.onnx has
    the outputs ``predicted_edge_bps`` and ``confidence``.
    """
    try:
        import numpy as np
        import onnxruntime as ort
    except ImportError as e:
        return {"ran": False, "reason": "%s not installed: golden vectors not run (pip install onnxruntime to run them)" % e.name}
    if "golden.json" not in bundle.files:
        raise ModelRefused("bundle has no golden.json")
    with open(bundle.path("golden.json"), "rb") as f:
        golden = json.loads(f.read().decode("utf-8"))
    rows = golden["rows"]
    x = np.asarray([[math.nan if v is None else float(v) for v in r["inputs"]] for r in rows], dtype=np.float32)
    worst = 0.0
    checked = {}
    for onnx_file in sorted(n for n in bundle.files if n.endswith(".onnx")):
        sess = ort.InferenceSession(bundle.path(onnx_file), providers=["CPUExecutionProvider"])
        names = [o.name for o in sess.get_outputs()]
        if onnx_file == "confidence.onnx" and len(names) == 1:
            names = ["confidence"]
        outputs = sess.run(None, {sess.get_inputs()[0].name: x})
        for field, values in zip(names, outputs):
            if field not in GOLDEN_FIELDS or all(r.get(field) is None for r in rows):
                continue
            got = np.asarray(values, dtype=np.float64).reshape(-1)
            for i, r in enumerate(rows):
                exp = float(r[field])
                err = golden_relative_error(float(got[i]), exp)
                if not err <= GOLDEN_TOLERANCE:  # NaN fails too
                    raise ModelRefused("golden vector %d, %s: %s gives %.9g, golden.json %.9g (relative error %.3g > %g)" % (i, field, onnx_file, got[i], exp, err, GOLDEN_TOLERANCE))
                worst = max(worst, err)
            checked[field] = onnx_file
    if "predicted_edge_bps" not in checked:
        raise ModelRefused("no ONNX output named predicted_edge_bps to check against golden.json")
    return {"ran": True, "rows": len(rows), "outputs": checked, "max_rel_error": worst}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--bundle", help="a bundle folder (model.onnx, manifest.json, golden.json, ...)")
    src.add_argument("--root", help="a publish folder (contains Runpodhuracan/latest/BASE-QUOTE.json)")
    ap.add_argument("--symbol", help="with --root: the pair, e.g. BTC/USDT")
    ap.add_argument("--publish-root", default=DEFAULT_ROOT, help="publish root inside --root (default /Runpodhuracan)")
    ap.add_argument("--schema", default=DEFAULT_SCHEMA, help="manifest JSON Schema (default: the published one)")
    ap.add_argument("--recipe-hash", help="refuse unless manifest.feature_recipe.hash equals this")
    ap.add_argument(
        "--validator",
        choices=("auto", "jsonschema", "subset"),
        default="auto",
        help="manifest validator: the jsonschema package when importable, else schema_subset (auto, the default); or force one",
    )
    ap.add_argument("--json", action="store_true", help="print one JSON line")
    args = ap.parse_args(argv)
    if args.root and not args.symbol:
        ap.error("--root needs --symbol")
    if args.validator == "jsonschema" and importlib.util.find_spec("jsonschema") is None:
        ap.error("--validator jsonschema: the jsonschema package is not installed here (pip install jsonschema)")
    summary = {"ok": False}
    try:
        bundle = resolve_bundle(args)
        summary["origin"] = bundle.origin
        summary["files_verified"] = verify_artifacts(bundle)
        m = bundle.manifest
        summary["model_id"] = m.get("model_id")
        summary["symbol"] = m.get("symbol")
        problems, summary["validator"] = validate_manifest(m, args.schema, args.validator)
        if problems:
            raise ModelRefused("manifest.json does not match %s (%s): %s" % (os.path.basename(args.schema), summary["validator"]["name"], "; ".join(problems[:10])))
        summary["schema_valid"] = True
        recipe = m.get("feature_recipe", {})
        summary["recipe"] = {"version": recipe.get("version"), "hash": recipe.get("hash")}
        if args.recipe_hash and recipe.get("hash") != args.recipe_hash:
            raise ModelRefused("manifest feature_recipe.hash is %s, this trader computes %s" % (recipe.get("hash"), args.recipe_hash))
        summary["onnx_checker"] = check_onnx(bundle)
        summary["golden"] = run_golden(bundle)
        summary["trading_params"] = m.get("trading_params")
        summary["ok"] = True
    except (ModelRefused, SchemaError, ValueError, KeyError, OSError) as e:
        summary["error"] = "%s: %s" % (type(e).__name__, e)
    except Exception as e:  # onnx.checker raises its own ValidationError
        summary["error"] = "%s: %s" % (type(e).__name__, e)
    if args.json:
        print(json.dumps(summary, sort_keys=True))
    else:
        if summary["ok"]:
            print("model %s (%s) OK: hashes verified, manifest valid against %s" % (summary["model_id"], summary["symbol"], args.schema))
            print("  onnx checker: %s" % summary["onnx_checker"])
            print("  golden vectors: %s" % summary["golden"])
        else:
            print("model REFUSED: %s" % summary["error"], file=sys.stderr)
    return 0 if summary["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
