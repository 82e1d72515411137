"""Form: people submit requests; members of the approver group approve or reject them.

- Anyone allowed into the app (see sso.groups in app.yaml) can submit and sees their own requests.
- Approvers see every request and decide on it (with an optional note), but never on their own;
  a decision is final. The approver group is FORM_APPROVER_GROUP if set, otherwise the group in
  app.yaml's sso.groups whose name contains "approv" (e.g. finance-approvers). It must be one of
  sso.groups: the app does not start otherwise.
- Requests are kept in SQLite, $DATA_DIR/submissions.sqlite3 (DATA_DIR defaults to ./data). The
  Node form keeps the same table in the same file.
- JSON callers (content-type application/json, X-CSRF-Token header) get JSON answers; the shapes
  are in CONTRACT.md.
"""

from __future__ import annotations

import re
import sqlite3
import threading
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import anyio.to_thread
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, RedirectResponse

from app.auth import CurrentUser, User, check_csrf, read_form, read_json
from app.config import Manifest, data_dir
from app.web import render

KIND = "form"
REQUIRED_SECRETS: tuple[str, ...] = ()

CATEGORIES = ("travel", "equipment", "software", "training", "other")
LIMITS = {"title_min": 3, "title_max": 120, "details_max": 2000, "amount_max_cents": 100_000_000,
          "note_max": 500}
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_AMOUNT = re.compile(r"^(\d{1,9})(?:\.(\d{1,2}))?$")


def approver_group(manifest: Manifest, environ: Mapping[str, str]) -> str | None:
    configured = (environ.get("FORM_APPROVER_GROUP") or "").strip()
    if configured:
        return configured
    return next((g for g in manifest.sso.groups if "approv" in g.lower()), None)


def check_manifest(manifest: Manifest, environ: Mapping[str, str]) -> list[str]:
    """Kind-specific checks of app.yaml (plain-word problems; empty = fine)."""
    group = approver_group(manifest, environ)
    team = str(manifest.raw.get("team") or "my-team")
    if not group:
        return [f'a form app needs an approver group: add one such as "{team}-approvers" to sso.groups '
                "in app.yaml, or set FORM_APPROVER_GROUP"]
    if manifest.sso.groups and group not in manifest.sso.groups:
        return [f'FORM_APPROVER_GROUP "{group}" must also be listed in sso.groups in app.yaml']
    return []


def format_amount(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def validate_submission(body: Mapping[str, Any]) -> tuple[dict[str, str] | None, dict[str, str], dict[str, str]]:
    """(the clean submission or None, errors by field, the values as typed). Same rules as Node."""
    def text(v: Any) -> str:
        return v if isinstance(v, str) else ""

    amount_raw = body.get("amount")
    if isinstance(amount_raw, (int, float)) and not isinstance(amount_raw, bool):
        amount_raw = repr(amount_raw)
    values = {
        "title": text(body.get("title")).strip(),
        "amount": text(amount_raw).strip(),
        "category": text(body.get("category")).strip(),
        "details": text(body.get("details")).replace("\r\n", "\n").strip(),
    }
    errors: dict[str, str] = {}
    if not LIMITS["title_min"] <= len(values["title"]) <= LIMITS["title_max"]:
        errors["title"] = f"Title must be {LIMITS['title_min']} to {LIMITS['title_max']} characters."
    elif _CONTROL.search(values["title"]) or "\n" in values["title"]:
        errors["title"] = "Title must be a single line of plain text."
    cents = 0
    m = _AMOUNT.match(values["amount"])
    if not m:
        errors["amount"] = "Amount must be a number like 120 or 120.50."
    else:
        cents = int(m.group(1)) * 100 + int((m.group(2) or "").ljust(2, "0"))
        if cents <= 0 or cents > LIMITS["amount_max_cents"]:
            errors["amount"] = "Amount must be more than 0 and at most 1,000,000.00."
    if values["category"] not in CATEGORIES:
        errors["category"] = f"Category must be one of: {', '.join(CATEGORIES)}."
    if len(values["details"]) > LIMITS["details_max"]:
        errors["details"] = f"Details can be at most {LIMITS['details_max']} characters."
    elif _CONTROL.search(values["details"]):
        errors["details"] = "Details must be plain text."
    if errors:
        return None, errors, values
    return {"title": values["title"], "amount": format_amount(cents), "category": values["category"],
            "details": values["details"]}, {}, values


def validate_note(value: Any) -> str | None:
    note = (value if isinstance(value, str) else "").strip()
    return note if len(note) <= LIMITS["note_max"] and not _CONTROL.search(note) else None


SCHEMA = """
CREATE TABLE IF NOT EXISTS submissions (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    amount TEXT NOT NULL,
    category TEXT NOT NULL,
    details TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    submitted_by TEXT NOT NULL,
    submitted_by_name TEXT NOT NULL,
    submitted_at TEXT NOT NULL,
    decided_by TEXT,
    decided_by_name TEXT,
    decided_at TEXT,
    note TEXT NOT NULL DEFAULT ''
)
"""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _as_json(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "id": row["id"], "title": row["title"], "amount": row["amount"], "category": row["category"],
        "details": row["details"], "status": row["status"],
        "submittedBy": {"sub": row["submitted_by"], "name": row["submitted_by_name"]},
        "submittedAt": row["submitted_at"],
        "decidedBy": ({"sub": row["decided_by"], "name": row["decided_by_name"] or row["decided_by"]}
                      if row["decided_by"] else None),
        "decidedAt": row["decided_at"], "note": row["note"] or "",
    }


class AlreadyDecided(Exception):
    pass


class Store:
    """SQLite in $DATA_DIR/submissions.sqlite3; every call runs in a worker thread."""

    def __init__(self, path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False)
        self._db.row_factory = sqlite3.Row
        self._lock = threading.Lock()
        with self._lock, self._db:
            self._db.execute("PRAGMA busy_timeout = 5000")
            self._db.execute(SCHEMA)

    def close(self) -> None:
        self._db.close()

    def add(self, item: dict[str, str], user: User) -> dict[str, Any]:
        item_id = str(uuid.uuid4())
        with self._lock, self._db:
            self._db.execute(
                "INSERT INTO submissions (id, title, amount, category, details, submitted_by, submitted_by_name,"
                " submitted_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (item_id, item["title"], item["amount"], item["category"], item["details"], user.id, user.name,
                 _now()),
            )
        return self.get(item_id)  # type: ignore[return-value]

    def list(self, submitted_by: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            if submitted_by is None:
                rows = self._db.execute("SELECT * FROM submissions ORDER BY rowid DESC").fetchall()
            else:
                rows = self._db.execute("SELECT * FROM submissions WHERE submitted_by = ? ORDER BY rowid DESC",
                                        (submitted_by,)).fetchall()
        return [_as_json(r) for r in rows]

    def get(self, item_id: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM submissions WHERE id = ?", (item_id,)).fetchone()
        return _as_json(row) if row else None

    def decide(self, item_id: str, user: User, status: str, note: str) -> dict[str, Any]:
        if status not in ("approved", "rejected"):  # not an assert: `python -O` drops those
            raise ValueError(f"unknown decision {status!r}")
        with self._lock, self._db:
            cur = self._db.execute(
                "UPDATE submissions SET status = ?, decided_by = ?, decided_by_name = ?, decided_at = ?, note = ?"
                " WHERE id = ? AND status = 'pending'",
                (status, user.id, user.name, _now(), note, item_id),
            )
        if cur.rowcount != 1:
            raise AlreadyDecided()
        return self.get(item_id)  # type: ignore[return-value]


def _is_json(request: Request) -> bool:
    return request.headers.get("content-type", "").lower().startswith("application/json")


def register(app: FastAPI) -> None:
    meter = app.state.telemetry.meter
    submissions = meter.create_counter("app.form.submissions", unit="{submission}",
                                       description="Form submissions (attribute outcome = accepted | invalid)")
    approvals = meter.create_counter("app.form.approvals", unit="{decision}",
                                     description="Decisions on submissions (attribute decision = approved | rejected)")
    approvers = approver_group(app.state.manifest, app.state.environ)

    def store(request: Request) -> Store:
        return request.app.state.form_store

    def is_approver(user: User) -> bool:
        return bool(approvers) and approvers in user.groups

    async def visible(request: Request, user: User) -> list[dict[str, Any]]:
        return await anyio.to_thread.run_sync(store(request).list, None if is_approver(user) else user.id)

    async def page(request: Request, user: User, *, status_code: int = 200, errors: dict[str, str] | None = None,
                   values: dict[str, str] | None = None, notice: str | None = None):
        return render(request, "form.html", status_code=status_code, items=await visible(request, user),
                      is_approver=is_approver(user), approvers=approvers, categories=CATEGORIES,
                      errors=errors or {}, values=values or {}, notice=notice)

    @app.get("/")
    async def home(request: Request, user: CurrentUser, created: str | None = None, decided: str | None = None):
        notice = "Your request was submitted." if created else "Decision saved." if decided else None
        return await page(request, user, notice=notice)

    @app.get("/api/submissions")
    async def list_api(request: Request, user: CurrentUser):
        return {"submissions": await visible(request, user)}

    @app.post("/submissions")
    async def submit(request: Request, user: CurrentUser):
        if _is_json(request):
            check_csrf(request, None)  # the X-CSRF-Token header
            raw = await read_json(request)
            if not isinstance(raw, dict):
                raise HTTPException(status_code=400, detail="Expected a JSON object.")
        else:
            raw = await read_form(request)
            check_csrf(request, raw.pop("csrf_token", None))
        item, errors, values = validate_submission(raw)
        if item is None:
            submissions.add(1, {"outcome": "invalid"})
            if _is_json(request):
                return JSONResponse({"error": "Please correct the fields marked below.", "errors": errors},
                                    status_code=422)
            return await page(request, user, status_code=422, errors=errors, values=values)
        created = await anyio.to_thread.run_sync(store(request).add, item, user)
        submissions.add(1, {"outcome": "accepted"})
        if _is_json(request):
            return JSONResponse(created, status_code=201)
        return RedirectResponse(f"/?created={created['id']}", status_code=303)

    @app.post("/submissions/{item_id}/decision")
    async def decide(item_id: str, request: Request, user: CurrentUser):
        if _is_json(request):
            check_csrf(request, None)  # the X-CSRF-Token header
            body = await read_json(request)
            body = body if isinstance(body, dict) else {}
        else:
            body = await read_form(request)
            check_csrf(request, body.get("csrf_token"))
        status = {"approve": "approved", "reject": "rejected"}.get(str(body.get("decision")))
        if status is None:
            raise HTTPException(status_code=400, detail="Choose approve or reject.")
        note = validate_note(body.get("note"))
        if note is None:
            raise HTTPException(status_code=400, detail="The note must be plain text of at most 500 characters.")
        item = await anyio.to_thread.run_sync(store(request).get, item_id)
        if item is None:
            raise HTTPException(status_code=404, detail="There is no such request.")
        if not is_approver(user):
            raise HTTPException(status_code=403, detail=f"Only members of {approvers} can approve or reject.")
        if item["submittedBy"]["sub"] == user.id:
            raise HTTPException(status_code=403, detail="You can't approve or reject your own request.")
        if item["status"] != "pending":
            raise HTTPException(status_code=409, detail=f"This request is already {item['status']}.")
        try:
            decided = await anyio.to_thread.run_sync(store(request).decide, item_id, user, status, note)
        except AlreadyDecided:
            raise HTTPException(status_code=409, detail="Someone else decided on this request a moment ago.") from None
        approvals.add(1, {"decision": status})
        if _is_json(request):
            return decided
        return RedirectResponse(f"/?decided={item_id}", status_code=303)


async def startup(app: FastAPI) -> None:
    path = data_dir(app.state.environ) / "submissions.sqlite3"
    app.state.form_store = await anyio.to_thread.run_sync(Store, path)


async def shutdown(app: FastAPI) -> None:
    store = getattr(app.state, "form_store", None)
    if store is not None:
        store.close()
