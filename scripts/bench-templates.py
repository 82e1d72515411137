#!/usr/bin/env python3
"""Builds a copier template and a cookiecutter template from an app `levee new` generated, for
scripts/bench.sh: the peers then write the same files levee writes, so the rows compare the same
output.

Usage: bench-templates.py APP NAME COPIER_DIR COOKIECUTTER_DIR

Every text file that holds the app's name (NAME) becomes a template with the name as its one
variable (`{{ name }}` for copier, `{{ cookiecutter.name }}` for cookiecutter); whatever else the
file holds is wrapped in `{% raw %}` so a `${{ secrets.X }}` in a workflow stays as it is. The
other files are copied as they are (copier copies files without its template suffix;
cookiecutter is told so with `_copy_without_render`)."""

import json
import os
import pathlib
import shutil
import sys

app, name, copier_dir, cc_dir = sys.argv[1], sys.argv[2], pathlib.Path(sys.argv[3]), pathlib.Path(sys.argv[4])
JINJA = ("{{", "}}", "{%", "%}", "{#", "#}")


def template(text: str, var: str) -> str:
    pieces = text.split(name)
    out = []
    for p in pieces:
        out.append(f"{{% raw %}}{p}{{% endraw %}}" if any(t in p for t in JINJA) else p)
    return ("{{ " + var + " }}").join(out)


for d in (copier_dir, cc_dir):
    shutil.rmtree(d, ignore_errors=True)
(copier_dir / "template").mkdir(parents=True)
cc_root = cc_dir / "{{cookiecutter.name}}"
cc_root.mkdir(parents=True)
verbatim = []
templated = 0
for root, _, files in os.walk(app):
    for f in files:
        src = pathlib.Path(root) / f
        rel = src.relative_to(app)
        if name in str(rel):
            sys.exit(f"error: {rel}: a file name holding the app name is not supported here")
        data = src.read_bytes()
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        for dst in (copier_dir / "template" / rel, cc_root / rel):
            dst.parent.mkdir(parents=True, exist_ok=True)
        if text is not None and name in text:
            templated += 1
            written = [(copier_dir / "template" / rel).with_name(rel.name + ".jinja"), cc_root / rel]
            written[0].write_text(template(text, "name"), encoding="utf-8", newline="")
            written[1].write_text(template(text, "cookiecutter.name"), encoding="utf-8", newline="")
        else:
            verbatim.append(str(rel))
            written = [copier_dir / "template" / rel, cc_root / rel]
            for dst in written:
                dst.write_bytes(data)
        for dst in written:
            shutil.copymode(src, dst)

(copier_dir / "copier.yml").write_text(
    "_subdirectory: template\n_templates_suffix: .jinja\n"
    f"name:\n  type: str\n  default: {name}\n", encoding="utf-8")
(cc_dir / "cookiecutter.json").write_text(json.dumps({
    "name": name,
    "_copy_without_render": ["{{cookiecutter.name}}/" + v for v in verbatim] + verbatim,
}, indent=2), encoding="utf-8")
print(f"{templated} templated, {len(verbatim)} copied")
