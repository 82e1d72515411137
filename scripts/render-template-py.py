#!/usr/bin/env python3
"""Render a levee template into a directory, following templates/README.md.

A stand-in for `levee new --no-input`, used by scripts/python-apps-test.sh:
- layers named in template.yaml `include` first, in order, then the template's
  own files/ on top (same path: the template wins);
- `*.jinja` files are rendered (strict undefined) and lose the suffix, the rest
  is copied byte for byte; path segments may be templated, an empty one skips the file;
- context: app (the manifest), org, levee.version;
- app.yaml is written from the manifest (levee writes it, templates never hold it).

Usage: render-template-py.py TEMPLATES_DIR TEMPLATE_ID MANIFEST.yaml OUT_DIR
Needs jinja2 and PyYAML.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import jinja2
import yaml


def render_tree(templates: Path, template_id: str, manifest_path: Path, out: Path) -> list[str]:
    spec = yaml.safe_load((templates / template_id / "template.yaml").read_text(encoding="utf-8"))
    manifest_text = manifest_path.read_text(encoding="utf-8")
    context = {
        "app": yaml.safe_load(manifest_text),
        "org": {},
        "levee": {"version": "0.0.0-dev"},
    }
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
                             autoescape=False)
    layers = [templates / layer / "files" for layer in spec.get("include") or []]
    layers.append(templates / template_id / "files")

    planned: dict[str, Path] = {}  # rendered relative path -> source file (later layers win)
    for layer in layers:
        if not layer.is_dir():
            raise SystemExit(f"missing layer directory: {layer}")
        for src in sorted(p for p in layer.rglob("*") if p.is_file()):
            rel = src.relative_to(layer)
            parts = [env.from_string(part).render(context) for part in rel.parts]
            if any(part == "" for part in parts):
                continue
            if parts[-1].endswith(".jinja"):
                parts[-1] = parts[-1][: -len(".jinja")]
            planned["/".join(parts)] = src

    out.mkdir(parents=True, exist_ok=True)
    for rel, src in sorted(planned.items()):
        dest = out / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        if src.name.endswith(".jinja"):
            text = env.from_string(src.read_text(encoding="utf-8")).render(context)
            dest.write_text(text, encoding="utf-8")
        else:
            shutil.copyfile(src, dest)
    (out / "app.yaml").write_text(manifest_text, encoding="utf-8")
    return sorted(planned)


def main(argv: list[str]) -> int:
    if len(argv) != 5:
        print(__doc__, file=sys.stderr)
        return 2
    files = render_tree(Path(argv[1]), argv[2], Path(argv[3]), Path(argv[4]))
    print(f"rendered {argv[2]}: {len(files)} files + app.yaml -> {argv[4]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
