# The upgrade request's title, labels and body, from the report of `levee upgrade --format json`.
# Every string in the report (paths, details, errors) is untrusted: it is shown inside Markdown
# code spans with control and format characters escaped, and never reaches a shell command line.
import json
import os
import re
import sys
import unicodedata
import urllib.error
import urllib.parse
import urllib.request

BRANCH = "levee/upgrade"
# GitHub keeps 65,536 characters of a pull request body.
BODY_LIMIT = 60000
ITEM_LIMIT = 300
VERSION = re.compile(r"^[0-9A-Za-z][0-9A-Za-z.+-]{0,63}$")
# Control, format (bidi overrides, zero-width), unassigned, private-use and line/paragraph
# separator characters: shown as escapes, never passed through.
HIDDEN = ("Cc", "Cf", "Cn", "Co", "Cs", "Zl", "Zp")
CHANGES = ("created", "updated", "merged", "regenerated", "deleted", "conflict", "resolved")


def visible(text):
    """The text on one line, every hidden character written as an escape, at most ITEM_LIMIT long."""
    out = []
    for ch in str(text):
        if unicodedata.category(ch) in HIDDEN:
            out.append("\\u{%x}" % ord(ch))
        else:
            out.append(ch)
    text = "".join(out)
    if len(text) > ITEM_LIMIT:
        text = text[:ITEM_LIMIT] + "..."
    return text


def code(text):
    """A Markdown code span holding the text literally: no link, mention, HTML or line break."""
    text = visible(text)
    if not text:
        return "(empty)"
    longest = max((len(run) for run in re.findall("`+", text)), default=0)
    fence = "`" * (longest + 1)
    if text[0] in "` " or text[-1] in "` ":
        text = " " + text + " "
    return fence + text + fence


def version(text):
    text = str(text or "")
    return "v" + text if VERSION.match(text) else code(text)


def identity_email(identity):
    """The e-mail of `Name <email>`."""
    return identity.rsplit("<", 1)[-1].rstrip(">").strip()


def log(message):
    """A line for the job log. Untrusted parts go through visible(), so no line of it can be read
    as a workflow command (`::...`)."""
    print("levee upgrade: " + message, file=sys.stderr, flush=True)


def fetch(request, what):
    """The JSON answer of an API request; a clear error (never a traceback) when it fails."""
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.load(response)
    except urllib.error.HTTPError as e:
        detail = e.read().decode("utf-8", "replace")
        where = "%s %s" % (request.get_method(), request.selector)
        message = "%s answered %d to %s: %s" % (what, e.code, where, visible(detail))
    except (urllib.error.URLError, OSError, ValueError) as e:
        message = "cannot reach %s for %s %s: %s" % (what, request.get_method(), request.selector, visible(e))
    raise SystemExit("levee upgrade: " + message)


def load_report(path):
    with open(path, encoding="utf-8") as f:
        report = json.load(f)
    if not isinstance(report, dict) or not isinstance(report.get("apps"), list):
        raise SystemExit("levee upgrade: %s is not a `levee upgrade --format json` report" % path)
    return report


class Upgrade:
    """What the report says, ready for a pull/merge request."""

    def __init__(self, report, labels, conflict_label, note=""):
        apps = [a for a in report.get("apps") or [] if isinstance(a, dict)]
        self.apps = apps
        self.failed = [a for a in apps if a.get("result") == "failed"]
        self.conflicts = [a for a in apps if a.get("result") == "conflicts"]
        moved = [a for a in apps if a.get("result") in ("upgraded", "conflicts")]
        self.changed = sum(int(a.get("files_changed") or 0) for a in apps)
        targets = sorted({str(a.get("to")) for a in moved})
        if len(targets) == 1 and VERSION.match(targets[0]):
            self.title = "levee: upgrade the app template to v" + targets[0]
        elif not moved:
            # Same version; `levee upgrade` noticed resolved conflicts and cleared its record.
            self.title = "levee: record the resolved template conflicts"
        else:
            self.title = "levee: upgrade app templates"
        if self.conflicts:
            self.title += " (conflicts to resolve)"
        self.labels = [label for label in labels if label]
        if self.conflicts and conflict_label:
            self.labels.append(conflict_label)
        self.body = self.render(report, note)

    def render(self, report, note):
        head = [
            "## Template upgrade",
            "",
            "The scheduled **levee upgrade** job ran `levee upgrade` on this repository and brought "
            "its app to the newest version of its template pack. Your changes to the starter files "
            "are kept: each file was merged three ways (the old template, the new one, yours).",
            "",
        ]
        apps = []
        for a in self.apps:
            apps += self.app_section(a)
        tail = []
        if self.conflicts:
            tail += [
                "### Conflicts to resolve",
                "",
                "Both you and the template changed the same lines, so the files marked **conflict** "
                "hold both versions between `<<<<<<< ours` and `>>>>>>> template` lines. Check out "
                "`%s`, keep the lines you want in each file, delete the marker lines, run `%s` "
                "(it records the resolution) and push. "
                "Until then this request cannot merge: its pipeline runs `levee upgrade "
                "--check-conflicts` and `levee sync --check`, which fail while a marker or a "
                "hand-edited managed file is left. A managed file edited by hand is not regenerated: "
                "move the change into `app.yaml` or the org config, then run `levee sync --force`."
                % (BRANCH, self.record_command()),
                "",
            ]
        tail += [
            "### Before you merge",
            "",
            "The app's own pipeline runs every gate on this change (manifest, drift, policy, "
            "secrets, vulnerabilities, build and tests). Review it like any other change.",
            "",
        ]
        if note:
            tail += ["> **Note:** " + note, ""]
        raw = json.dumps(report, indent=2, ensure_ascii=True)
        longest = max((len(run) for run in re.findall("`+", raw)), default=0)
        fence = "`" * max(3, longest + 1)
        details = [
            "<details>",
            "<summary>The report of <code>levee upgrade --format json</code></summary>",
            "",
            fence + "json",
            raw,
            fence,
            "",
            "</details>",
            "",
        ]
        footer = [
            "<sub>Opened by the levee-upgrade job from the branch `%s`. The job updates this "
            "request while every commit on the branch is its own; once you push to the branch it "
            "is yours, and the job leaves it alone until the request is merged or closed.</sub>"
            % BRANCH,
            "",
        ]
        body = "\n".join(head + apps + tail + details + footer)
        if len(body) <= BODY_LIMIT:
            return body
        # Too long for GitHub: the report is left out (the job keeps it as an artifact), then the
        # end of the file list, line by line, until the body fits.
        size = sum(len(line) + 1 for line in head + apps + tail + footer) + 200
        cut = 0
        while apps and size > BODY_LIMIT:
            size -= len(apps.pop()) + 1
            cut += 1
        left_out = " (and the last %d lines of the file list)" % cut if cut else ""
        notice = "_The report is too long to show here%s: it is kept with the job's artifacts._" % left_out
        return "\n".join(head + apps + [notice, ""] + tail + footer)

    def record_command(self):
        """The command that records a resolution without upgrading further."""
        targets = sorted({str(a.get("to")) for a in self.conflicts})
        if len(targets) == 1 and VERSION.match(targets[0]):
            return "levee upgrade --to " + targets[0]
        return "levee upgrade --to <the version above>"

    @staticmethod
    def app_section(a):
        result = str(a.get("result") or "")
        if result not in ("upgraded", "conflicts", "up-to-date", "failed"):
            result = code(result)
        where = "" if a.get("app") == "." else code(a.get("app")) + ": "
        heading = "### %stemplate %s \u2192 %s: %s" % (where, version(a.get("from")), version(a.get("to")), result)
        lines = [heading, ""]
        if a.get("error"):
            lines += ["Failed: " + code(a["error"]), ""]
        if a.get("warning"):
            lines += ["Warning: " + code(a["warning"]), ""]
        files = [f for f in a.get("files") or [] if isinstance(f, dict)]
        if files:
            lines.append("%d file(s) changed:" % int(a.get("files_changed") or 0))
            lines.append("")
            for f in files:
                change = str(f.get("change") or "")
                shown = ("**%s**" % change) if change == "conflict" else change
                if change not in CHANGES:
                    shown = code(change)
                line = "- %s: %s" % (code(f.get("path")), shown)
                if f.get("detail"):
                    line += ": " + code(f["detail"])
                lines.append(line)
            lines.append("")
        return lines
