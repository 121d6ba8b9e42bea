#!/usr/bin/env python3
"""Load an Engine model bundle from Python, the way a Python Hamilton should.

Every step refuses the model on the first problem, with a message that names the file and
what was expected vs found:

1. resolve the bundle: a bundle folder (``--bundle DIR``: model.onnx, manifest.json,
   golden.json, ...) or the symbol's live model in a publish folder (``--root DIR
   --symbol BTC/USDT``: ``DIR/Runpodhuracan/latest/BTC-USDT.json`` names the files; a
   local Dropbox sync folder works as well). Only regular files inside the folder are
   read: no symlink below ``DIR`` (file or folder), no FIFO, device or socket, no path
   that leaves the publish root, nothing past the size ``latest.json`` declares
   (``MAX_UNSIZED_FILE_BYTES`` for files it does not size);
2. verify every file's SHA-256 against ``latest.json`` and ``manifest.json``'s
   ``artifacts``;
3. validate ``manifest.json`` against the published JSON Schema
   (``packages/model/schema/manifest.schema.json``) with the ``jsonschema`` package
   (Draft 2020-12, with its format checker) when it is importable, otherwise with the
   standard-library validator in ``schema_subset.py`` (``--validator`` picks one; the
   summary's ``validator`` says which ran);
4. refuse a model its gates rejected (``gates.passed`` false) or one past its
   ``expires_at`` (by this machine's UTC clock, or ``--now``), unless told otherwise
   (``--allow-rejected``, ``--allow-expired``: research only);
5. optionally compare the manifest's feature-recipe hash with the one your feature code
   implements (``--recipe-hash``): a model trained on other features must not be used;
6. check every ``.onnx`` file with ``onnx.checker`` (the ``onnx`` package);
7. run the golden vectors through ``onnxruntime`` (with ``numpy``), and refuse the model
   unless every output reproduces within the contract's rule,
   ``|got - expected| <= 1e-5 * max(1, |expected|)``.

Steps 6 and 7 fail closed: when ``onnx`` or ``onnxruntime``/``numpy`` cannot be imported
the model is not reported usable (exit 3, naming each check that could not run) unless
the caller passes ``--skip-onnx-checks``; then the checks that could not run are listed
in ``skipped_checks`` (and printed as SKIPPED). Checks whose package is installed always
run.

It prints one JSON line (``--json``) or a short report, and exits 0 when the model can be
used, 1 when it was refused, 2 on a usage error, 3 when a check could not run.

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

A trading agent's bundle (model family ``ppo``: ``engine.model_format`` is
``engine-ppo-agent/1``, model.json an ``engine-ppo-agent``) is checked the same way, and
more: with the standard library alone, model.json must be an agent over the manifest's
features that trades long with taker entries, and must rebuild every golden row's
observation (``agent_observation``) and reproduce its action probabilities and action
(``agent_logits``, evaluated in double precision); with ``onnx``, model.onnx must be the
policy graph of that observation size; with ``onnxruntime``, it must reproduce the golden
probabilities (fed the golden observations) and actions. Its model.onnx takes
``agent_observation(...)`` rows (float32 [N, features + 3]) and gives
``action_probabilities`` (hold, buy, sell) and ``greedy_action``. Trade the greedy action
at each candle's close: flat, ``buy`` enters at the next open under the trading rules
(cooldown, daily cap; a model whose ``thresholds.final.trade`` is false never enters);
long, ``sell`` sells at the next open; a position not sold exits at the labeller's barriers.
"""

import argparse
import datetime
import errno
import hashlib
import importlib.util
import json
import math
import os
import re
import stat
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from schema_subset import FORMATS as SUBSET_FORMATS, SchemaError, type_name, validate  # noqa: E402

DEFAULT_SCHEMA = os.path.normpath(
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "model", "schema", "manifest.schema.json")
)
DEFAULT_ROOT = "/Runpodhuracan"

MiB = 1024 * 1024
# The most read of any file, whatever latest.json declares (the TypeScript consumer's
# MAX_FILE_BYTES, @engine/publish): a model bundle is a few MiB.
MAX_FILE_BYTES = 1024 * MiB
# The most read of a file nothing declares a size for: latest.json itself, and every file
# of a --bundle folder (MAX_UNSIZED_FILE_BYTES of @engine/consumer).
MAX_UNSIZED_FILE_BYTES = 64 * MiB
READ_CHUNK = MiB

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


class ChecksUnavailable(Exception):
    """A check the caller did not skip could not run (its package is missing): exit 3."""


def sha256_bytes(data):
    return hashlib.sha256(data).hexdigest()


def _kind(mode):
    if stat.S_ISREG(mode):
        return "a regular file"
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "something that is not a file"


def _lstat_or_none(path):
    try:
        return os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None


def read_regular_file(base, parts, max_bytes, limit_source, shown):
    """The bytes of the regular file ``base/<parts...>``, or None when it does not exist.

    Refused (ModelRefused) when a folder on the way below ``base`` or the file itself is a
    symlink (``base`` may be one: it is the folder the caller named), when the file is not
    a regular file (a FIFO or a device is never opened), or when it is larger than
    ``max_bytes`` (from its size before reading, and never reading more than one byte
    past it). ``shown`` is the file's name in messages; ``limit_source`` says who set the
    limit. The file is opened with O_NOFOLLOW | O_NONBLOCK and checked again with fstat,
    so a swap after the check cannot make it follow a link or block.
    """
    cur = base
    for i, seg in enumerate(parts[:-1]):
        cur = os.path.join(cur, seg)
        st = _lstat_or_none(cur)
        if st is None:
            return None
        if not stat.S_ISDIR(st.st_mode):
            raise ModelRefused("/%s (on the way to %s): expected a folder, found %s" % ("/".join(parts[: i + 1]), shown, _kind(st.st_mode)))
    path = os.path.join(base, *parts)
    st = _lstat_or_none(path)
    if st is None:
        return None

    def check(st):
        if not stat.S_ISREG(st.st_mode):
            raise ModelRefused("%s: expected a regular file, found %s" % (shown, _kind(st.st_mode)))
        if st.st_size > max_bytes:
            raise ModelRefused("%s: expected at most %d bytes (%s), found %d" % (shown, max_bytes, limit_source, st.st_size))

    check(st)
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as e:
        if e.errno == errno.ENOENT:
            return None
        if e.errno == errno.ELOOP:
            raise ModelRefused("%s: expected a regular file, found a symbolic link" % shown)
        if e.errno == errno.ENXIO:
            raise ModelRefused("%s: expected a regular file, found a socket or a device" % shown)
        raise
    try:
        check(os.fstat(fd))
        chunks, total = [], 0
        while True:
            want = min(READ_CHUNK, max_bytes + 1 - total)
            if want <= 0:
                break
            block = os.read(fd, want)
            if not block:
                break
            chunks.append(block)
            total += len(block)
        if total > max_bytes:
            raise ModelRefused("%s: expected at most %d bytes (%s), found more" % (shown, max_bytes, limit_source))
        return b"".join(chunks)
    finally:
        os.close(fd)


def slug(symbol):
    m = re.match(r"^([A-Za-z0-9]+)[/-]([A-Za-z0-9]+)$", symbol.strip())
    if not m:
        raise ValueError("symbol %r is not BASE/QUOTE (e.g. BTC/USDT)" % symbol)
    return "%s-%s" % (m.group(1).upper(), m.group(2).upper())


def remote_segments(remote, publish_root, what):
    """The segments of a path under ``publish_root/``, refusing anything that leaves it."""
    root = publish_root.rstrip("/")
    ok = isinstance(remote, str) and remote.startswith(root + "/") and "\0" not in remote
    below = remote[len(root) + 1 :].split("/") if ok else []
    if not ok or any(p in ("", ".", "..") for p in below):
        raise ModelRefused("%s names %s: expected a path under %s/ without empty, '.' or '..' segments or NUL bytes" % (what, json.dumps(remote), root))
    return [p for p in root.split("/") if p] + below


class Bundle:
    """The files of one model: bundle name -> local path and the bytes read (and verified), plus the parsed manifest."""

    def __init__(self, files, data, origin, pointer=None):
        self.files = files
        self.data = data
        self.origin = origin
        self.pointer = pointer
        self.manifest = None

    def path(self, name):
        return self.files[name]


def resolve_bundle(args):
    if args.bundle:
        return _resolve_bundle_folder(args.bundle)
    root = args.publish_root.rstrip("/")
    if not root.startswith("/") or any(p in ("", ".", "..") for p in root.split("/")[1:]) or "\0" in root:
        raise ValueError("--publish-root %r must be an absolute path such as /Runpodhuracan, without '.' or '..' segments" % args.publish_root)
    remote = "%s/latest/%s.json" % (root, slug(args.symbol))
    pointer_path = os.path.join(args.root, *remote.split("/")[1:])
    raw = read_regular_file(args.root, remote.split("/")[1:], MAX_UNSIZED_FILE_BYTES, "MAX_UNSIZED_FILE_BYTES", pointer_path)
    if raw is None:
        raise ModelRefused("no published model for %s: %s does not exist" % (args.symbol, pointer_path))
    pointer = json.loads(raw.decode("utf-8"))
    if not isinstance(pointer, dict) or pointer.get("schema") != 1 or not isinstance(pointer.get("files"), dict):
        raise ModelRefused("%s is not a schema-1 latest.json pointer" % pointer_path)
    # Every entry is checked before the first file is read.
    wanted = []
    for name, entry in sorted(pointer["files"].items()):
        what = "%s, entry %r," % (pointer_path, name)
        if not isinstance(entry, dict):
            raise ModelRefused("%s: expected an object with path, sha256 and bytes, found %s" % (what, json.dumps(entry)))
        parts = remote_segments(entry.get("path"), root, what)
        declared = entry.get("bytes")
        if isinstance(declared, bool) or not isinstance(declared, int) or declared < 0:
            raise ModelRefused("%s: expected bytes to be the file's size (an integer >= 0), found %s" % (what, json.dumps(declared)))
        if declared > MAX_FILE_BYTES:
            raise ModelRefused("%s: expected at most %d bytes (MAX_FILE_BYTES), latest.json declares %d" % (what, MAX_FILE_BYTES, declared))
        wanted.append((name, entry, parts, declared))
    files, data = {}, {}
    for name, entry, parts, declared in wanted:
        p = os.path.join(args.root, *parts)
        raw = read_regular_file(args.root, parts, declared, "latest.json", entry["path"])
        if raw is None:
            raise ModelRefused("%s names %s for %r but it does not exist" % (pointer_path, p, name))
        found = sha256_bytes(raw)
        if found != entry.get("sha256"):
            raise ModelRefused("%r at %s has SHA-256 %s, latest.json expects %s" % (name, p, found, entry.get("sha256")))
        if len(raw) != declared:
            raise ModelRefused("%s: expected %d bytes (latest.json), found %d" % (entry["path"], declared, len(raw)))
        files[name] = p
        data[name] = raw
    return Bundle(files, data, pointer_path, pointer)


def _resolve_bundle_folder(d):
    """Every regular file directly in ``d`` (sub-folders are not bundle files; a symlink, FIFO or device is refused)."""
    st = _lstat_or_none(d)
    if st is None or not os.path.isdir(d):
        raise ModelRefused("bundle folder %s does not exist" % d)
    files, data = {}, {}
    for n in sorted(os.listdir(d)):
        p = os.path.join(d, n)
        st = os.lstat(p)
        if stat.S_ISDIR(st.st_mode):
            continue
        raw = read_regular_file(d, [n], MAX_UNSIZED_FILE_BYTES, "MAX_UNSIZED_FILE_BYTES: no latest.json declares sizes", p)
        if raw is None:  # removed since the listing
            continue
        files[n] = p
        data[n] = raw
    return Bundle(files, data, "bundle folder %s" % d)


def verify_artifacts(bundle):
    if "manifest.json" not in bundle.files:
        raise ModelRefused("%s has no manifest.json" % bundle.origin)
    manifest = json.loads(bundle.data["manifest.json"].decode("utf-8"))
    bundle.manifest = manifest
    if bundle.pointer is not None and manifest.get("model_id") != bundle.pointer.get("model_id"):
        raise ModelRefused("latest.json names model %s but manifest.json is model %s" % (bundle.pointer.get("model_id"), manifest.get("model_id")))
    artifacts = manifest.get("artifacts")
    if not isinstance(artifacts, dict) or "model.onnx" not in artifacts:
        raise ModelRefused("manifest.json has no artifacts entry for model.onnx")
    for name, expected in sorted(artifacts.items()):
        if name not in bundle.files:
            raise ModelRefused("manifest.artifacts lists %r but the bundle has no such file" % name)
        found = sha256_bytes(bundle.data[name])
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
    """onnx.checker on every .onnx file of the bundle; ``checked: False`` with the reason when onnx cannot be imported."""
    try:
        import onnx
    except ImportError:
        return {"checked": False, "reason": "python package onnx not installed"}
    report = {"checked": True, "models": {}}
    for name in sorted(n for n in bundle.files if n.endswith(".onnx")):
        # The verified bytes, not the path: the file cannot be swapped after its hash check.
        model = onnx.load_model_from_string(bundle.data[name])
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

# A trading agent (model family ppo): engine.model_format, model.json's format, the
# policy graph's outputs, the position inputs after the features and the actions, as
# @engine/model (PPO_AGENT_MODEL_FORMAT) and @engine/ppo (agent.ts, policy-onnx.ts) define them.
PPO_AGENT_MODEL_FORMAT = "engine-ppo-agent/1"
PPO_AGENT_FORMAT = "engine-ppo-agent"
POLICY_OUTPUT_PROBABILITIES = "action_probabilities"
POLICY_OUTPUT_GREEDY = "greedy_action"
POSITION_INPUTS = ("position_long", "bars_held_per_horizon", "unrealised_bps_per_100")
ACTIONS = ("hold", "buy", "sell")
OBSERVATION_CLIP = 5.0


def is_agent_bundle(bundle):
    """A trading agent's bundle: the manifest says so, or model.json is an agent."""
    if (bundle.manifest.get("engine") or {}).get("model_format") == PPO_AGENT_MODEL_FORMAT:
        return True
    head = bundle.data.get("model.json", b"")[:256].decode("utf-8", "replace")
    return re.match(r'^\s*\{\s*"format"\s*:\s*"%s"' % PPO_AGENT_FORMAT, head) is not None


def _f32(x):
    """x rounded to float32 (the policy's weights are float32 values; its input is rounded to float32)."""
    return struct.unpack("f", struct.pack("f", x))[0]


def _clip(x):
    return OBSERVATION_CLIP if x > OBSERVATION_CLIP else -OBSERVATION_CLIP if x < -OBSERVATION_CLIP else x


def agent_observation(agent, features, long, bars_held, unrealised_bps):
    """The agent's observation (model.onnx's input row) for a feature row and a position.

    ``agent`` is model.json parsed; ``features`` are in ``manifest["feature_names"]`` order
    (None or NaN: missing). Each feature is standardised with the training statistics
    (missing -> 0, a scale of 0 -> 0) and clipped to +-5; then 1.0 when long (else 0), bars
    held since the signal candle / horizon_minutes (0 when flat), and the unrealised gross
    bps at the candle's close / 100, clipped to +-5 (0 when flat or unknown). This is
    @engine/ppo's ObservationBuilder.observe.
    """
    out = []
    for x, m, s in zip(features, agent["feature_means"], agent["feature_scales"]):
        inv = 1.0 / s if s > 0 else 0.0
        z = 0.0 if x is None or math.isnan(x) else (x - m) * inv
        out.append(_clip(z))
    out.append(1.0 if long else 0.0)
    out.append(bars_held / agent["horizon_minutes"] if long else 0.0)
    u = unrealised_bps / 100.0 if long and math.isfinite(unrealised_bps) else 0.0
    out.append(_clip(u))
    return out


def agent_logits(agent, observation):
    """The policy's action logits for one observation (tanh hidden layers, linear output)."""
    policy = agent["policy"]
    sizes = [policy["observation_size"]] + list(policy["hidden_sizes"]) + [policy["action_count"]]
    h = [_f32(v) for v in observation]
    for l, layer in enumerate(policy["layers"]):
        n_in, n_out = sizes[l], sizes[l + 1]
        w, b = layer["weights"], layer["bias"]
        z = [b[o] + math.fsum(w[o * n_in + i] * h[i] for i in range(n_in)) for o in range(n_out)]
        h = z if l == len(policy["layers"]) - 1 else [math.tanh(v) for v in z]
    return h


def _softmax(z):
    top = max(z)
    e = [math.exp(v - top) for v in z]
    total = sum(e)
    return [v / total for v in e]


def _argmax(z):
    best = 0
    for k in range(1, len(z)):
        if z[k] > z[best]:
            best = k
    return best


def check_agent_bundle(bundle):
    """A trading agent's model.json, manifest and golden.json, with the standard library only.

    model.json must be an agent over the manifest's features with a policy of their number
    plus the 3 position inputs; the manifest must trade long with taker entries (what the
    agent was trained on); golden.json must be a policy golden file of those sizes, and the
    agent must rebuild every row's observation from its inputs and position, and its policy
    (evaluated here in double precision) reproduce the row's action probabilities under the
    golden rule and choose its action.
    """
    m = bundle.manifest
    if "model.json" not in bundle.files:
        raise ModelRefused("a trading agent's bundle (%s) needs model.json, the agent itself" % PPO_AGENT_MODEL_FORMAT)
    try:
        agent = json.loads(bundle.data["model.json"].decode("utf-8"))
    except ValueError as e:
        raise ModelRefused("model.json is not a valid trading agent (%s): not JSON: %s" % (PPO_AGENT_MODEL_FORMAT, e))
    names = list(m.get("feature_names") or [])
    F = len(names)
    if not isinstance(agent, dict) or agent.get("format") != PPO_AGENT_FORMAT or not isinstance(agent.get("policy"), dict):
        raise ModelRefused("model.json is not a trading agent: expected format %r with a policy" % PPO_AGENT_FORMAT)
    if agent.get("feature_names") != names:
        raise ModelRefused("model.json's agent observes %d features that differ from the manifest's feature_names (%d)" % (len(agent.get("feature_names") or []), F))
    if len(agent.get("feature_means") or []) != F or len(agent.get("feature_scales") or []) != F:
        raise ModelRefused("model.json: expected one feature mean and one scale per feature (%d)" % F)
    if tuple(agent.get("position_inputs") or ()) != POSITION_INPUTS or tuple(agent.get("actions") or ()) != ACTIONS:
        raise ModelRefused("model.json: expected position_inputs %s and actions %s" % (list(POSITION_INPUTS), list(ACTIONS)))
    policy = agent["policy"]
    O = F + len(POSITION_INPUTS)
    if policy.get("observation_size") != O or policy.get("action_count") != len(ACTIONS):
        raise ModelRefused("model.json's policy has %s inputs and %s actions, expected %d (%d features and %d position inputs) and %d" % (policy.get("observation_size"), policy.get("action_count"), O, F, len(POSITION_INPUTS), len(ACTIONS)))
    tp = m.get("trading_params") or {}
    if tp.get("side") != "long":
        raise ModelRefused("a trading agent trades long only; the manifest says side %s" % tp.get("side"))
    if (m.get("cost_model") or {}).get("entry") == "maker":
        raise ModelRefused("a trading agent enters as a taker only; the cost model prices maker entries")
    if "golden.json" not in bundle.files:
        raise ModelRefused("bundle has no golden.json")
    golden = json.loads(bundle.data["golden.json"].decode("utf-8"))
    if not isinstance(golden, dict) or golden.get("kind") != "policy":
        raise ModelRefused("golden.json of a trading agent must be a policy golden file (kind \"policy\")")
    if golden.get("feature_names") != names:
        raise ModelRefused("golden.json's feature_names differ from the manifest's")
    if tuple(golden.get("position_inputs") or ()) != POSITION_INPUTS or tuple(golden.get("actions") or ()) != ACTIONS:
        raise ModelRefused("golden.json: expected position_inputs %s and actions %s" % (list(POSITION_INPUTS), list(ACTIONS)))
    rows = golden.get("rows") or []
    if not rows:
        raise ModelRefused("golden.json has no rows")
    worst = 0.0
    for k, r in enumerate(rows):
        obs = r.get("observation") or []
        if len(r.get("inputs") or []) != F or len(obs) != O or len(r.get("action_probabilities") or []) != len(ACTIONS):
            raise ModelRefused(
                "golden vector %d: expected %d inputs, an observation of %d values and %d probabilities, found %d, %d and %d"
                % (k, F, O, len(ACTIONS), len(r.get("inputs") or []), len(obs), len(r.get("action_probabilities") or []))
            )
        long, bars, unrealised = r["position"]
        mine = agent_observation(agent, [math.nan if v is None else float(v) for v in r["inputs"]], long == 1, bars, unrealised)
        for i, (got, exp) in enumerate(zip(mine, obs)):
            err = golden_relative_error(got, float(exp))
            if not err <= GOLDEN_TOLERANCE:
                raise ModelRefused("golden vector %d, observation[%d]: model.json's agent gives %.9g, golden.json %.9g (relative error %.3g > %g)" % (k, i, got, exp, err, GOLDEN_TOLERANCE))
            worst = max(worst, err)
        z = agent_logits(agent, obs)
        for a, (got, exp) in enumerate(zip(_softmax(z), r["action_probabilities"])):
            err = golden_relative_error(got, float(exp))
            if not err <= GOLDEN_TOLERANCE:
                raise ModelRefused("golden vector %d, P(%s): model.json gives %.9g, golden.json %.9g (relative error %.3g > %g)" % (k, ACTIONS[a], got, exp, err, GOLDEN_TOLERANCE))
            worst = max(worst, err)
        if _argmax(z) != r["action"]:
            raise ModelRefused("golden vector %d, greedy action: model.json chooses %s, golden.json expects %s" % (k, ACTIONS[_argmax(z)], ACTIONS[r["action"]] if 0 <= r["action"] < len(ACTIONS) else r["action"]))
    return {"checked": True, "rows": len(rows), "observation_size": O, "max_rel_error": worst}


def check_policy_graph(bundle, report):
    """With onnx: model.onnx is the policy graph of the agent's observation size."""
    info = report["models"].get("model.onnx")
    if info is None:
        raise ModelRefused("a trading agent's bundle needs model.onnx")
    import onnx

    model = onnx.load_model_from_string(bundle.data["model.onnx"])
    O = len(bundle.manifest.get("feature_names") or []) + len(POSITION_INPUTS)
    if len(model.graph.input) != 1 or any(o not in info["outputs"] for o in (POLICY_OUTPUT_PROBABILITIES, POLICY_OUTPUT_GREEDY)):
        raise ModelRefused("a trading agent's model.onnx must have one input and the outputs %s and %s; has inputs %s, outputs %s" % (POLICY_OUTPUT_PROBABILITIES, POLICY_OUTPUT_GREEDY, info["inputs"], info["outputs"]))
    t = model.graph.input[0].type.tensor_type
    dims = [d.dim_value if d.HasField("dim_value") else d.dim_param for d in t.shape.dim]
    if t.elem_type != onnx.TensorProto.FLOAT or not dims or dims[-1] != O:
        raise ModelRefused("model.onnx input %r is %s%s, expected float32[N, %d] (the agent's features and %d position inputs)" % (model.graph.input[0].name, onnx.TensorProto.DataType.Name(t.elem_type).lower(), dims, O, len(POSITION_INPUTS)))
    info["observation_size"] = O


def run_policy_golden(bundle):
    """golden.json's observations through onnxruntime: the probabilities under the golden rule, the greedy actions exactly."""
    try:
        import numpy as np
        import onnxruntime as ort
    except ImportError as e:
        return {"ran": False, "reason": "python package %s not installed" % e.name, "kind": "policy"}
    rows = json.loads(bundle.data["golden.json"].decode("utf-8"))["rows"]
    x = np.asarray([r["observation"] for r in rows], dtype=np.float32)
    sess = ort.InferenceSession(bundle.data["model.onnx"], providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    out = dict(zip(names, sess.run(None, {sess.get_inputs()[0].name: x})))
    probs = np.asarray(out[POLICY_OUTPUT_PROBABILITIES], dtype=np.float64).reshape(len(rows), -1)
    greedy = np.asarray(out[POLICY_OUTPUT_GREEDY]).reshape(-1)
    worst = 0.0
    for k, r in enumerate(rows):
        for a, exp in enumerate(r["action_probabilities"]):
            err = golden_relative_error(float(probs[k, a]), float(exp))
            if not err <= GOLDEN_TOLERANCE:
                raise ModelRefused("golden vector %d, P(%s): model.onnx gives %.9g, golden.json %.9g (relative error %.3g > %g)" % (k, ACTIONS[a], probs[k, a], exp, err, GOLDEN_TOLERANCE))
            worst = max(worst, err)
        if int(greedy[k]) != r["action"]:
            raise ModelRefused("golden vector %d, greedy action: model.onnx chooses %s, golden.json expects %s" % (k, ACTIONS[int(greedy[k])], ACTIONS[r["action"]]))
    return {"ran": True, "kind": "policy", "rows": len(rows), "outputs": {POLICY_OUTPUT_PROBABILITIES: "model.onnx", POLICY_OUTPUT_GREEDY: "model.onnx"}, "max_rel_error": worst}


def run_golden(bundle):
    """Run the golden vectors' inputs through onnxruntime and compare with their expected outputs.

    golden.json: ``{"feature_names": [...], "rows": [{"inputs": [...], "predicted_edge_bps": x,
    "confidence": p}, ...]}``; an input ``null`` is a missing value (NaN). model.onnx has
    the outputs ``predicted_edge_bps`` and ``confidence``. A ``side: both`` bundle also has
    model-short.onnx, checked against its own golden-short.json.
    """
    try:
        import numpy as np
        import onnxruntime as ort
    except ImportError as e:
        return {"ran": False, "reason": "python package %s not installed" % e.name}
    if "golden.json" not in bundle.files:
        raise ModelRefused("bundle has no golden.json")
    goldens = {}

    def golden_of(onnx_file):
        name = "golden-short.json" if onnx_file == "model-short.onnx" else "golden.json"
        if name not in bundle.files:
            raise ModelRefused("bundle has %s but no %s" % (onnx_file, name))
        if name not in goldens:
            rows = json.loads(bundle.data[name].decode("utf-8"))["rows"]
            x = np.asarray([[math.nan if v is None else float(v) for v in r["inputs"]] for r in rows], dtype=np.float32)
            goldens[name] = (rows, x)
        return name, goldens[name]

    worst = 0.0
    checked = {}
    for onnx_file in sorted(n for n in bundle.files if n.endswith(".onnx")):
        golden_name, (rows, x) = golden_of(onnx_file)
        sess = ort.InferenceSession(bundle.data[onnx_file], providers=["CPUExecutionProvider"])
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
                    raise ModelRefused("golden vector %d, %s: %s gives %.9g, %s %.9g (relative error %.3g > %g)" % (i, field, onnx_file, got[i], golden_name, exp, err, GOLDEN_TOLERANCE))
                worst = max(worst, err)
            checked[field if onnx_file != "model-short.onnx" else "short " + field] = onnx_file
    if "predicted_edge_bps" not in checked:
        raise ModelRefused("no ONNX output named predicted_edge_bps to check against golden.json")
    if "model-short.onnx" in bundle.files and "short predicted_edge_bps" not in checked:
        raise ModelRefused("model-short.onnx has no output named predicted_edge_bps to check against golden-short.json")
    return {"ran": True, "rows": len(goldens["golden.json"][0]), "outputs": checked, "max_rel_error": worst}


def parse_utc(text):
    """An ISO 8601 UTC time (``2026-01-13T02:00:00.000Z``) as an aware datetime."""
    t = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return t if t.tzinfo else t.replace(tzinfo=datetime.timezone.utc)


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
    ap.add_argument(
        "--skip-onnx-checks",
        action="store_true",
        help="report the model usable even when onnx (onnx.checker) or onnxruntime/numpy (golden vectors) cannot be "
        "imported; the checks that could not run are listed in skipped_checks. Without it they fail closed (exit 3)",
    )
    ap.add_argument("--allow-rejected", action="store_true", help="accept a model whose gates failed (research only; a live trader must not)")
    ap.add_argument("--allow-expired", action="store_true", help="accept a model past its expires_at (research only)")
    ap.add_argument("--allow-demoted", action="store_true", help="accept a model latest.json marks demoted by live monitoring (research only)")
    ap.add_argument("--now", help="the clock expires_at is checked against, ISO 8601 UTC (default: now)")
    ap.add_argument("--json", action="store_true", help="print one JSON line")
    args = ap.parse_args(argv)
    if args.root and not args.symbol:
        ap.error("--root needs --symbol")
    if args.validator == "jsonschema" and importlib.util.find_spec("jsonschema") is None:
        ap.error("--validator jsonschema: the jsonschema package is not installed here (pip install jsonschema)")
    summary = {"ok": False}
    status = 1
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
        demoted = (bundle.pointer or {}).get("demoted")
        if demoted and not args.allow_demoted:
            raise ModelRefused(
                "live monitoring demoted the model at %s (%s: %s); the symbol has no model to trade until a new one is published; pass --allow-demoted to load it for research"
                % (demoted.get("at"), demoted.get("rule"), demoted.get("detail"))
            )
        gates = m.get("gates", {})
        if not gates.get("passed", False) and not args.allow_rejected:
            raise ModelRefused(
                "the model was rejected by its gates (failed: %s) and is not for trading; pass --allow-rejected to load it for research"
                % (", ".join(gates.get("failed", [])) or "unknown")
            )
        expires = m.get("expires_at")
        if expires is not None and not args.allow_expired:
            now = parse_utc(args.now) if args.now else datetime.datetime.now(datetime.timezone.utc)
            if now > parse_utc(expires):
                raise ModelRefused(
                    "the model expired at %s (it is now %s): wait for a fresh model, or pass --allow-expired to load it anyway"
                    % (expires, now.strftime("%Y-%m-%dT%H:%M:%SZ"))
                )
        summary["verdict"] = "published" if gates.get("passed", False) else "rejected"
        summary["expires_at"] = expires
        recipe = m.get("feature_recipe", {})
        summary["recipe"] = {"version": recipe.get("version"), "hash": recipe.get("hash")}
        if args.recipe_hash and recipe.get("hash") != args.recipe_hash:
            raise ModelRefused("manifest feature_recipe.hash is %s, this trader computes %s" % (recipe.get("hash"), args.recipe_hash))
        agent = is_agent_bundle(bundle)
        summary["model_kind"] = "ppo-agent" if agent else "edge"
        if agent:
            # Standard library: the agent's files agree with each other and with golden.json.
            summary["agent"] = check_agent_bundle(bundle)
        summary["onnx_checker"] = check_onnx(bundle)
        if agent and summary["onnx_checker"]["checked"]:
            check_policy_graph(bundle, summary["onnx_checker"])
        summary["golden"] = run_policy_golden(bundle) if agent else run_golden(bundle)
        could_not_run = []
        if not summary["onnx_checker"]["checked"]:
            could_not_run.append(("onnx_checker", "onnx.checker", summary["onnx_checker"]["reason"]))
        if not summary["golden"]["ran"]:
            could_not_run.append(("golden_vectors", "golden vectors", summary["golden"]["reason"]))
        if could_not_run and not args.skip_onnx_checks:
            # Fail closed: a model nobody could check is not a usable model.
            raise ChecksUnavailable(
                "model not verified: %s could not run; install what is missing (pip install onnx onnxruntime numpy) "
                "or pass --skip-onnx-checks to accept the model without %s"
                % (" and ".join("%s (%s)" % (label, reason) for _, label, reason in could_not_run), "them" if len(could_not_run) > 1 else "it")
            )
        summary["skipped_checks"] = [{"check": check, "reason": reason} for check, _, reason in could_not_run]
        summary["trading_params"] = m.get("trading_params")
        summary["ok"] = True
        status = 0
    except ChecksUnavailable as e:
        summary["error"] = "%s: %s" % (type(e).__name__, e)
        status = 3
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
            if summary["skipped_checks"]:
                print("  SKIPPED (--skip-onnx-checks): %s" % ", ".join("%s (%s)" % (c["check"], c["reason"]) for c in summary["skipped_checks"]))
        elif status == 3:
            print("model NOT VERIFIED: %s" % summary["error"], file=sys.stderr)
        else:
            print("model REFUSED: %s" % summary["error"], file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())
