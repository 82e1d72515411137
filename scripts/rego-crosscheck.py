#!/usr/bin/env python3
"""Evaluates levee's Rego with a second, independent engine: rego-cpp (Microsoft's C++ Rego
interpreter, PyPI `regopy`), while levee itself uses regorus (Rust). No OPA binary is installable
on the build machine; two engines agreeing, one of which checks recursion the way OPA's compiler
does, is the next best thing to CI's `opa test` / `opa eval`.

Usage: rego-crosscheck.py --now-ns N APP_DIR...

APP_DIR             an app with `app.yaml` and its generated `policy/` bundle (modules and
                    data.json): evaluates data.levee.policy.deny and .warn with app.yaml as the
                    input, read the way `opa eval --input app.yaml` reads it (YAML timestamps stay
                    strings, as in the sigs.k8s.io/yaml decoder OPA uses).

Prints one JSON object: {APP_DIR: {"deny": [ids], "warn": [ids]} | {"error": text}}.

The Rego unit tests (*_test.rego) are not run here: rego-cpp 1.5.2 crashes (SIGSEGV) evaluating
a rule that references another rule under `with input as ...`, which every unit test does. They
run in-process on regorus (`levee policy test`) and on OPA in the generated pipeline.
"""

import argparse
import json
import pathlib
import sys

import regopy
import yaml
from regopy.interpreter import rego_query
from regopy.output import rego_output_ok, rego_output_string


class OpaYamlLoader(yaml.SafeLoader):
    """PyYAML's safe loader without the timestamp resolver: `2026-04-01` stays a string."""


OpaYamlLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def query(rego, q):
    """The value of a query's first expression (None when undefined); raises with the engine's
    error text when the query does not compile or evaluate."""
    impl = rego_query(rego._impl, q)
    text = rego_output_string(impl)
    if not rego_output_ok(impl) or text.startswith("(error"):
        raise RuntimeError(" ".join(text.split())[:400])
    if text == "undefined":
        return None
    value = json.loads(text)
    if isinstance(value, list):  # several results: take the first
        value = value[0] if value else {}
    exprs = value.get("expressions") or [None]
    return exprs[0]


def run_app(app_dir, now_ns):
    rego = regopy.Interpreter()
    bundle = app_dir / "policy"
    for m in sorted(bundle.glob("*.rego")):
        if not m.name.endswith("_test.rego"):
            rego.add_module(m.name, m.read_text())
    # One data document: a second add_data_json under the same top-level key is not merged.
    data = json.loads((bundle / "data.json").read_text())
    data.setdefault("levee", {})["clock"] = {"now_ns": now_ns}
    rego.add_data_json(json.dumps(data))
    manifest = yaml.load((app_dir / "app.yaml").read_text(), Loader=OpaYamlLoader)
    rego.set_input_term(json.dumps(manifest))
    out = {}
    for level in ("deny", "warn"):
        try:
            # Only the ids: rego-cpp 1.5.2 does not escape every character of a string in its
            # JSON output (a message with a quote breaks it); the ids are plain.
            ids = query(rego, f"[f.id | some f in data.levee.policy.{level}]")
            out[level] = sorted(set(ids or []))
        except Exception as e:
            return {"error": str(e)}
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--now-ns", type=int, required=True)
    p.add_argument("apps", nargs="+", type=pathlib.Path)
    args = p.parse_args()
    report = {str(app): run_app(app, args.now_ns) for app in args.apps}
    json.dump(report, sys.stdout, indent=1, sort_keys=True)
    print()


if __name__ == "__main__":
    main()
