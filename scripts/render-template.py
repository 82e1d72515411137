#!/usr/bin/env python3
"""Render one template of the built-in pack into a directory.

A stand-in for `levee new --no-input` used by scripts/node-apps-test.sh. It
follows the rules of templates/README.md: the layers named in the template's
`include` are rendered first, in order, then the template's own files/ on
top; `*.jinja` files are rendered with StrictUndefined and lose the suffix;
other files are copied byte for byte; path segments may be templated and a
path whose segment renders empty is skipped. It then writes app.yaml from a
built-in example manifest for the template's kind.

Usage: render-template.py TEMPLATE_ID OUT_DIR [--name APP_NAME]
"""
import argparse
import copy
import os
import shutil
import sys
from pathlib import Path

try:
    import jinja2
    import yaml
except ImportError as exc:  # pragma: no cover
    sys.exit(f"render-template.py needs jinja2 and PyYAML ({exc}); run: pip install jinja2 pyyaml")

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"

BASE_MANIFEST = {
    "name": None,
    "description": None,
    "owner": "jane.doe@example.com",
    "team": "finance",
    "kind": None,
    "stack": "node",
    "classification": "internal",
    "sso": {
        "provider": "oidc",
        "issuer": "https://login.example.com",
        "groups": [],
        "scopes": ["openid", "profile", "email"],
    },
    "runtime": {
        "type": "sandboxed-container",
        "cpu_limit": 0.25,
        "mem_limit": "256Mi",
        "max_runtime_minutes": 60,
        "egress": [],
    },
    "secrets": [],
    "data_access": [],
    "lifecycle": {"tier": "prototype", "created": "2026-03-01", "expires": "2026-04-01"},
    "cost": {"center": "CC-1234", "estimated_monthly_usd": 40},
    "ci": "github",
    "template": {"id": None, "version": "1.0.0", "source": "builtin"},
}

# One realistic example per kind, spread over tiers and secret providers.
EXAMPLES = {
    "dashboard": {
        "name": "sales-dashboard",
        "description": "Monthly sales by region",
        "sso": {"groups": ["sales-analysts"]},
        "secrets": [{"name": "SESSION_SECRET", "provider": "vault"}],
        "data_access": [{"dataset": "sales", "access_level": "read", "purpose": "monthly sales overview"}],
        "lifecycle": {"tier": "sandbox"},
    },
    "form": {
        "name": "expense-approvals",
        "description": "Submit and approve small expenses",
        "sso": {"groups": ["finance-staff", "finance-approvers"]},
        "secrets": [{"name": "SESSION_SECRET", "provider": "env"}],
        "data_access": [{"dataset": "expenses", "access_level": "write", "purpose": "submit employee expenses"}],
        "lifecycle": {"tier": "prototype"},
    },
    "webhook": {
        "name": "payments-webhook",
        "description": "Forward payment provider events to the ledger API",
        "sso": {"groups": ["payments-ops"]},
        "runtime": {"egress": ["api.ledger.example.com"]},
        "secrets": [
            {"name": "SESSION_SECRET", "provider": "aws-secrets-manager"},
            {"name": "WEBHOOK_SIGNING_SECRET", "provider": "vault"},
            {"name": "DOWNSTREAM_API_TOKEN", "provider": "vault"},
        ],
        "data_access": [{"dataset": "payments", "access_level": "write", "purpose": "record payment events"}],
        "lifecycle": {"tier": "production"},
    },
}


def example_manifest(kind, template_id, name):
    manifest = copy.deepcopy(BASE_MANIFEST)
    for key, value in EXAMPLES[kind].items():
        if isinstance(value, dict) and isinstance(manifest.get(key), dict):
            manifest[key].update(value)
        else:
            manifest[key] = value
    manifest["kind"] = kind
    manifest["template"]["id"] = template_id
    if name:
        manifest["name"] = name
    return manifest


def render_tree(template_id, out_dir, context):
    spec = yaml.safe_load((TEMPLATES / template_id / "template.yaml").read_text())
    layers = list(spec.get("include") or []) + [template_id]
    env = jinja2.Environment(
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )
    written = {}
    for layer in layers:
        root = TEMPLATES / layer / "files"
        if not root.is_dir():
            sys.exit(f"layer {layer}: {root} does not exist")
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            for filename in sorted(filenames):
                src = Path(dirpath) / filename
                rel_parts = src.relative_to(root).parts
                parts = [env.from_string(p).render(context) if ("{{" in p or "{%" in p) else p for p in rel_parts]
                if any(p.strip() == "" for p in parts):
                    continue
                is_template = parts[-1].endswith(".jinja")
                if is_template:
                    parts[-1] = parts[-1][: -len(".jinja")]
                rel = Path(*parts)
                dest = out_dir / rel
                dest.parent.mkdir(parents=True, exist_ok=True)
                if is_template:
                    text = env.from_string(src.read_text(encoding="utf-8")).render(context)
                    dest.write_text(text, encoding="utf-8")
                else:
                    shutil.copyfile(src, dest)
                shutil.copymode(src, dest)
                written[str(rel)] = layer
    return spec, written


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("template_id")
    parser.add_argument("out_dir")
    parser.add_argument("--name", help="app name (default: the kind's example name)")
    args = parser.parse_args()

    spec = yaml.safe_load((TEMPLATES / args.template_id / "template.yaml").read_text())
    kind = spec["kind"]
    out_dir = Path(args.out_dir)
    if out_dir.exists() and any(out_dir.iterdir()):
        sys.exit(f"{out_dir} is not empty")
    out_dir.mkdir(parents=True, exist_ok=True)

    manifest = example_manifest(kind, args.template_id, args.name)
    pack = yaml.safe_load((TEMPLATES / "pack.yaml").read_text())
    context = {"app": manifest, "org": {"name": "example"}, "levee": {"version": pack.get("version", "0.0.0")}}
    _, written = render_tree(args.template_id, out_dir, context)
    (out_dir / "app.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False), encoding="utf-8")
    print(f"rendered {args.template_id} as {manifest['name']} into {out_dir} ({len(written)} files + app.yaml)")


if __name__ == "__main__":
    main()
