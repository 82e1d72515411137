#!/usr/bin/env python3
"""The reference OPA as the test suite's oracle for levee's Rego.

`levee check` evaluates the policy bundle in-process with regorus (Rust); CI evaluates the same
bundle with the reference OPA (`opa test policy/`, `opa eval --data policy/ --input app.yaml`).
No `opa` binary can be installed on the build machine, so this script drives OPA v1.20 itself,
compiled as a C shared library (PyPI `opa-golib-python-bindings`, unpacked into the .venv by
scripts/test.sh), through its ctypes bindings. One process serves a whole test: it reads one JSON
request on stdin and writes one JSON reply on stdout, so hundreds of evaluations cost one start.

Request: {"jobs": [JOB, ...]}. Reply: {"opa": VERSION-INFO, "jobs": [RESULT, ...]}, in order.

  {"test": DIR}
      Like `opa test DIR`: loads every *.rego and data.json under DIR and evaluates every rule
      named test_* (any package, any file), each on its own.
      -> {"results": [{"file", "package", "name", "outcome": "pass" | "fail" | "error",
                        "error"?}]}

  {"builtins": [NAME, ...]}
      Which of the names are OPA built-in functions (`max`, `count`, `print`): each is called in
      a probe module, and only a name OPA does not know fails as an undefined function.
      -> {"builtins": [NAME, ...]}

  {"eval": BUNDLE, "now_ns": N, "inputs": [{"yaml": TEXT} | {"json": VALUE}, ...],
   "annotations": false}
      Like `opa eval --data BUNDLE --input app.yaml 'data.levee.policy.deny'` (and `.warn`) per
      input, with data.levee.clock.now_ns = N when N is given. BUNDLE is a directory (its
      *_test.rego are left out, as they change no decision) or {"modules": {name: text},
      "data": {...}}. A YAML input is read the way OPA reads `--input app.yaml`
      (sigs.k8s.io/yaml over go-yaml v2: YAML 1.1 booleans, dates kept as strings).
      -> {"results": [{"input": VALUE, "deny": [FINDING], "warn": [FINDING]} | {"error": TEXT}]}
      With "annotations": true, every `deny contains finding if` / `warn contains finding if`
      rule is rewritten to also report the METADATA that OPA's parser attached to it:
      each result gets "annotated": [{"level", "id", "field", "annotations"}].

Every engine also loads a module that calls rego.metadata.rule(), which makes OPA parse every
module's METADATA blocks (as `opa eval`, `opa test` and `opa inspect -a` do): a malformed block
is a compile error here, as it is in CI.

A job that fails to load or compile gets {"error": TEXT}; the process exits 0 unless the request
itself is unreadable or OPA cannot be loaded (exit 2, with the reason on stderr).
"""

import json
import math
import pathlib
import re
import sys

try:
    import yaml
    from opa_bindings.engine import OpaEngine, OpaError, OpaUndefinedError
except ImportError as e:  # a missing oracle fails the suite, never skips it
    print(
        f"error: the reference OPA is not installed ({e}); run scripts/test.sh, which unpacks "
        "opa-golib-python-bindings into .venv",
        file=sys.stderr,
    )
    sys.exit(2)

# Makes OPA process every module's METADATA (it only does when a module asks for annotations).
ANNOTATION_PROBE = (
    "levee_oracle_probe.rego",
    "package levee_oracle.probe\n\nannotations_enabled := rego.metadata.rule()\n",
)

RULE_HEAD = re.compile(r"^(deny|warn) contains finding if \{$", re.M)
TEST_RULE = re.compile(r"^(test_[A-Za-z0-9_]*)\b", re.M)
PACKAGE = re.compile(r"^package\s+([A-Za-z0-9_.]+)", re.M)


# -- YAML as OPA reads it ---------------------------------------------------------------------

# go-yaml v2 (which sigs.k8s.io/yaml, and so OPA and conftest, use) resolves plain scalars by
# YAML 1.1 rules: y/yes/on are true, n/no/off are false; timestamps stay strings when decoded
# into interface{}; numbers go through Go's strconv with underscores removed.
_GO_BOOLS = {
    **{s: True for s in "y Y yes Yes YES true True TRUE on On ON".split()},
    **{s: False for s in "n N no No NO false False FALSE off Off OFF".split()},
}
_GO_NULLS = {"", "~", "null", "Null", "NULL"}
_GO_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
_GO_SPECIAL = {
    ".nan": math.nan, ".NaN": math.nan, ".NAN": math.nan,
    **{p + s: math.inf for p in ("", "+") for s in (".inf", ".Inf", ".INF")},
    **{"-" + s: -math.inf for s in (".inf", ".Inf", ".INF")},
}


def _go_parse_int(s):
    """strconv.ParseInt(s, 0, 64) (then ParseUint): sign, 0x/0o/0b prefixes, a leading 0 is octal."""
    sign, body = 1, s
    if body[:1] in "+-":
        sign, body = (-1 if body[0] == "-" else 1), body[1:]
    if not body:
        return None
    low = body.lower()
    for prefix, base in (("0x", 16), ("0o", 8), ("0b", 2)):
        if low.startswith(prefix):
            digits, b = body[2:], base
            break
    else:
        digits, b = (body[1:], 8) if len(body) > 1 and body[0] == "0" else (body, 10)
    if not digits:
        return None
    try:
        v = sign * int(digits, b)
    except ValueError:
        return None
    return v if -(2**63) <= v < 2**64 else None


def go_yaml_v2_plain(s):
    if s in _GO_BOOLS:
        return _GO_BOOLS[s]
    if s in _GO_NULLS:
        return None
    if s in _GO_SPECIAL:
        return _GO_SPECIAL[s]
    if s[:1] in "+-0123456789.":
        plain = s.replace("_", "")
        if s[:1] != ".":
            v = _go_parse_int(plain)
            if v is not None:
                return v
        if _GO_FLOAT.match(plain):
            try:
                return float(plain)
            except ValueError:
                pass
    return s


class GoYamlV2Loader(yaml.SafeLoader):
    """PyYAML's safe loader with go-yaml v2's resolution of plain scalars."""

    def resolve(self, kind, value, implicit):
        if kind is yaml.ScalarNode and implicit[0]:
            if value == "<<":
                return "tag:yaml.org,2002:merge"
            return "tag:levee.oracle,2026:go-plain"
        return super().resolve(kind, value, implicit)

    def construct_mapping(self, node, deep=False):
        # sigs.k8s.io/yaml turns non-string keys into their JSON text (true -> "true").
        mapping = super().construct_mapping(node, deep=deep)
        return {json_key(k): v for k, v in mapping.items()}


def json_key(k):
    if isinstance(k, str):
        return k
    if isinstance(k, bool):
        return "true" if k else "false"
    if k is None:
        return "null"
    return str(k)


GoYamlV2Loader.add_constructor(
    "tag:levee.oracle,2026:go-plain",
    lambda loader, node: go_yaml_v2_plain(loader.construct_scalar(node)),
)


def read_input(spec):
    if "yaml" in spec:
        return yaml.load(spec["yaml"], Loader=GoYamlV2Loader)
    return spec["json"]


# -- loading bundles --------------------------------------------------------------------------


def load_dir(root, with_tests):
    """(modules {relative path: text}, data) from a bundle directory, as OPA's loader reads it:
    every data.json merged at its directory's path."""
    root = pathlib.Path(root)
    modules, data = {}, {}
    for path in sorted(root.rglob("*")):
        if not path.is_file():
            continue
        rel = path.relative_to(root).as_posix()
        if path.suffix == ".rego":
            if with_tests or not path.name.endswith("_test.rego"):
                modules[rel] = path.read_text(encoding="utf-8")
        elif path.name == "data.json":
            target = data
            for seg in path.relative_to(root).parent.parts:
                target = target.setdefault(seg, {})
            deep_merge(target, json.loads(path.read_text(encoding="utf-8")))
    return modules, data


def deep_merge(into, value):
    for k, v in value.items():
        if isinstance(v, dict) and isinstance(into.get(k), dict):
            deep_merge(into[k], v)
        else:
            into[k] = v


def engine_for(modules, data, now_ns=None):
    engine = OpaEngine()
    for name, text in sorted(modules.items()):
        engine.add_policy(name, text)
    engine.add_policy(*ANNOTATION_PROBE)
    if data:
        engine.add_data(data)
    if now_ns is not None:
        engine.add_data({"now_ns": now_ns}, path="levee.clock")
    # Compile now, so a broken module is reported as the job's error.
    engine.eval_query("x = data.levee_oracle.probe")
    return engine


def bundle_spec(spec, with_tests):
    if isinstance(spec, str):
        return load_dir(spec, with_tests)
    return dict(spec.get("modules", {})), spec.get("data", {})


# -- jobs -------------------------------------------------------------------------------------


def run_tests(directory):
    modules, data = load_dir(directory, with_tests=True)
    engine = engine_for(modules, data)
    tests = {}  # package -> [(file, name)]
    for file, text in sorted(modules.items()):
        package = PACKAGE.search(text)
        for name in dict.fromkeys(TEST_RULE.findall(text)):
            tests.setdefault(package.group(1), []).append((file, name))
    results = []
    for package, names in tests.items():
        # One evaluation of the package's document decides every test in it (each query OPA
        # prepares costs a compilation); a test is defined and true, or it fails. When a rule of
        # the package raises an error, the tests run one by one to say which.
        try:
            doc = engine.eval_document(package)
        except OpaUndefinedError:
            doc = {}
        except OpaError:
            doc = None
        for file, name in names:
            result = {"file": file, "package": package, "name": name}
            if doc is not None:
                result["outcome"] = "pass" if doc.get(name) is True else "fail"
            else:
                try:
                    value = engine.eval_document(f"{package}.{name}")
                    result["outcome"] = "pass" if value is True else "fail"
                except OpaUndefinedError:
                    result["outcome"] = "fail"
                except OpaError as e:
                    result["outcome"] = "error"
                    result["error"] = str(e)
            results.append(result)
        # Every test_* rule OPA defines was found by the scan of the module text.
        found = {name for _, name in names}
        for key in sorted(doc or {}):
            if key.startswith("test_") and key not in found:
                results.append(
                    {"file": "?", "package": package, "name": key, "outcome": "error",
                     "error": "a test_ rule the oracle's scan of the module text did not find"}
                )
    return {"results": results}


def annotate(modules):
    """Each deny/warn rule rewritten to also report OPA's reading of its METADATA."""
    out = {}
    for name, text in modules.items():
        out[name] = RULE_HEAD.sub(
            lambda m: (
                f'levee_oracle_annotated contains {{"level": "{m.group(1)}", "id": finding.id, '
                '"field": finding.field, "annotations": rego.metadata.rule()} if {'
            ),
            text,
        )
    return out


def run_eval(job):
    modules, data = bundle_spec(job["eval"], with_tests=False)
    now_ns = job.get("now_ns")
    engine = engine_for(modules, data, now_ns)
    annotated = engine_for(annotate(modules), data, now_ns) if job.get("annotations") else None
    results = []
    for spec in job["inputs"]:
        try:
            value = read_input(spec)
        except yaml.YAMLError as e:
            results.append({"error": f"YAML: {e}"})
            continue
        out = {"input": value}
        try:
            for level in ("deny", "warn"):
                try:
                    out[level] = engine.eval_document(f"levee.policy.{level}", value)
                except OpaUndefinedError:
                    out[level] = []
            if annotated is not None:
                try:
                    out["annotated"] = annotated.eval_document(
                        "levee.policy.levee_oracle_annotated", value
                    )
                except OpaUndefinedError:
                    out["annotated"] = []
        except OpaError as e:
            out = {"error": str(e)}
        results.append(out)
    return {"results": results}


def builtin_names(names):
    found = []
    for name in names:
        engine = OpaEngine()
        try:
            engine.add_policy("probe.rego", f"package levee_oracle.builtin\n\np := {name}(0)\n")
            engine.eval_query("x = data.levee_oracle.builtin")
            found.append(name)
        except OpaError as e:
            if "rego_type_error" in str(e) and "undefined function" not in str(e):
                found.append(name)  # wrong arguments for a built-in
        finally:
            engine.close()
    return {"builtins": found}


def run_job(job):
    try:
        if "builtins" in job:
            return builtin_names(job["builtins"])
        if "test" in job:
            return run_tests(job["test"])
        if "eval" in job:
            return run_eval(job)
        return {"error": f"unknown job {sorted(job)}"}
    except (OpaError, OSError, ValueError) as e:
        return {"error": str(e)}


def finite(v):
    """JSON has no NaN or infinity (YAML does): such inputs are echoed as text."""
    if isinstance(v, float) and not math.isfinite(v):
        return repr(v)
    if isinstance(v, dict):
        return {k: finite(x) for k, x in v.items()}
    if isinstance(v, list):
        return [finite(x) for x in v]
    return v


def main():
    try:
        request = json.load(sys.stdin)
    except ValueError as e:
        print(f"error: the request is not JSON: {e}", file=sys.stderr)
        sys.exit(2)
    reply = {"jobs": [run_job(job) for job in request.get("jobs", [])]}
    json.dump(finite(reply), sys.stdout, sort_keys=True, allow_nan=False)
    print()


if __name__ == "__main__":
    main()
