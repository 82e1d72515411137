"""Form: people submit requests; approvers approve or reject them.

- Anyone allowed into the app (see sso.groups in app.yaml) can submit and sees
  their own requests.
- Approvers see every request and decide on it, but never on their own.
  The approver group is FORM_APPROVER_GROUP if set, otherwise the groups in
  app.yaml's sso.groups whose name contains "approv" (e.g. finance-approvers).
- Requests are kept in a SQLite file (FORM_DB_PATH, default data/submissions.sqlite3).
"""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import anyio.to_thread
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, RedirectResponse
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from app.auth import CurrentUser, User, check_csrf, read_form
from app.web import render

KIND = "form"
REQUIRED_SECRETS: tuple[str, ...] = ()


class SubmissionIn(BaseModel):
    """What a submitter fills in. Change the fields here and in form.html."""

    model_config = ConfigDict(extra="forbid")

    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
    amount: Annotated[Decimal, Field(gt=0, le=1_000_000, max_digits=9, decimal_places=2)]
    details: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] = ""


SCHEMA = """
CREATE TABLE IF NOT EXISTS submissions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    title TEXT NOT NULL,
    amount TEXT NOT NULL,
    details TEXT NOT NULL,
    submitted_by TEXT NOT NULL,
    submitted_by_name TEXT NOT NULL,
    submitted_at TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    decided_by TEXT,
    decided_at TEXT
)
"""


class Store:
    """A small SQLite store; every call runs in a worker thread."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False)
        self._db.row_factory = sqlite3.Row
        self._lock = threading.Lock()
        with self._lock, self._db:
            self._db.execute(SCHEMA)

    def close(self) -> None:
        self._db.close()

    def add(self, item: SubmissionIn, user: User) -> int:
        now = datetime.now(UTC).isoformat(timespec="seconds")
        with self._lock, self._db:
            cur = self._db.execute(
                "INSERT INTO submissions (title, amount, details, submitted_by, submitted_by_name, submitted_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (item.title, str(item.amount), item.details, user.id, user.name, now),
            )
            return int(cur.lastrowid)

    def list(self, submitted_by: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            if submitted_by is None:
                rows = self._db.execute("SELECT * FROM submissions ORDER BY id DESC").fetchall()
            else:
                rows = self._db.execute("SELECT * FROM submissions WHERE submitted_by = ? ORDER BY id DESC",
                                        (submitted_by,)).fetchall()
        return [dict(r) for r in rows]

    def get(self, item_id: int) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM submissions WHERE id = ?", (item_id,)).fetchone()
        return dict(row) if row else None

    def decide(self, item_id: int, user: User, status: str) -> bool:
        """Only a pending request, and never by the person who submitted it."""
        if status not in ("approved", "rejected"):  # not an assert: `python -O` drops those
            raise ValueError(f"unknown decision {status!r}")
        now = datetime.now(UTC).isoformat(timespec="seconds")
        with self._lock, self._db:
            cur = self._db.execute(
                "UPDATE submissions SET status = ?, decided_by = ?, decided_at = ?"
                " WHERE id = ? AND status = 'pending' AND submitted_by != ?",
                (status, user.id, now, item_id, user.id),
            )
            return cur.rowcount == 1


def approver_groups(manifest_groups: tuple[str, ...], environ) -> tuple[str, ...]:
    configured = environ.get("FORM_APPROVER_GROUP")
    if configured:
        return tuple(g.strip() for g in configured.split(",") if g.strip())
    return tuple(g for g in manifest_groups if "approv" in g.lower())


def _errors(exc: ValidationError) -> dict[str, str]:
    out: dict[str, str] = {}
    for err in exc.errors():
        field = str(err["loc"][0]) if err.get("loc") else "form"
        out.setdefault(field, err["msg"])
    return out


def register(app: FastAPI) -> None:
    meter = app.state.telemetry.meter
    submissions = meter.create_counter("app.form.submissions", unit="{submission}",
                                       description="Form submissions")
    approvals = meter.create_counter("app.form.approvals", unit="{decision}",
                                     description="Decisions on submissions (attribute decision = approved | rejected)")
    approvers = approver_groups(app.state.manifest.sso.groups, app.state.environ)

    def store(request: Request) -> Store:
        return request.app.state.form_store

    def is_approver(user: User) -> bool:
        return bool(approvers) and user.in_any(approvers)

    async def page(request: Request, user: User, *, status_code: int = 200,
                   errors: dict[str, str] | None = None, values: dict[str, str] | None = None):
        items = await anyio.to_thread.run_sync(store(request).list, None if is_approver(user) else user.id)
        return render(request, "form.html", status_code=status_code, items=items,
                      is_approver=is_approver(user), approvers=approvers,
                      errors=errors or {}, values=values or {})

    @app.get("/")
    async def home(request: Request, user: CurrentUser):
        return await page(request, user)

    @app.get("/api/submissions")
    async def list_api(request: Request, user: CurrentUser):
        items = await anyio.to_thread.run_sync(store(request).list, None if is_approver(user) else user.id)
        return {"items": items}

    @app.post("/submissions")
    async def submit(request: Request, user: CurrentUser):
        is_json = request.headers.get("content-type", "").startswith("application/json")
        if is_json:
            check_csrf(request, None)  # the X-CSRF-Token header
            try:
                raw = await request.json()
            except ValueError:
                raise HTTPException(status_code=400, detail="Invalid JSON.") from None
            if not isinstance(raw, dict):
                raise HTTPException(status_code=400, detail="Expected a JSON object.")
        else:
            raw = await read_form(request)
            check_csrf(request, raw.pop("csrf_token", None))
        try:
            item = SubmissionIn.model_validate(raw)
        except ValidationError as exc:
            submissions.add(1, {"outcome": "invalid"})
            if is_json:
                return JSONResponse({"detail": "Invalid submission.", "errors": _errors(exc)}, status_code=422)
            values = {k: str(v) for k, v in raw.items()}
            return await page(request, user, status_code=422, errors=_errors(exc), values=values)
        item_id = await anyio.to_thread.run_sync(store(request).add, item, user)
        submissions.add(1, {"outcome": "accepted"})
        if is_json:
            return JSONResponse({"id": item_id, "status": "pending"}, status_code=201)
        return RedirectResponse("/", status_code=303)

    @app.post("/submissions/{item_id}/decision")
    async def decide(item_id: int, request: Request, user: CurrentUser):
        if request.headers.get("content-type", "").startswith("application/json"):
            check_csrf(request, None)  # the X-CSRF-Token header
            try:
                body = await request.json()
            except ValueError:
                raise HTTPException(status_code=400, detail="Invalid JSON.") from None
            choice = body.get("decision") if isinstance(body, dict) else None
        else:
            form = await read_form(request)
            check_csrf(request, form.get("csrf_token"))
            choice = form.get("decision")
        status = {"approve": "approved", "reject": "rejected"}.get(str(choice))
        if status is None:
            raise HTTPException(status_code=400, detail="Choose approve or reject.")
        if not approvers:
            raise HTTPException(status_code=403, detail=(
                "No approver group is set up: add a group with 'approv' in its name to sso.groups "
                "in app.yaml, or set FORM_APPROVER_GROUP."))
        if not is_approver(user):
            raise HTTPException(status_code=403, detail="Only approvers can decide on requests.")
        item = await anyio.to_thread.run_sync(store(request).get, item_id)
        if item is None:
            raise HTTPException(status_code=404, detail="No such request.")
        if item["submitted_by"] == user.id:
            raise HTTPException(status_code=403, detail="You cannot decide on your own request.")
        if item["status"] != "pending":
            raise HTTPException(status_code=409, detail="This request was already decided.")
        if not await anyio.to_thread.run_sync(store(request).decide, item_id, user, status):
            raise HTTPException(status_code=409, detail="This request was already decided.")
        approvals.add(1, {"decision": status})
        if "text/html" in request.headers.get("accept", ""):
            return RedirectResponse("/", status_code=303)
        return {"id": item_id, "status": status}


async def startup(app: FastAPI) -> None:
    path = Path(app.state.environ.get("FORM_DB_PATH") or "data/submissions.sqlite3")
    app.state.form_store = await anyio.to_thread.run_sync(Store, path)


async def shutdown(app: FastAPI) -> None:
    store = getattr(app.state, "form_store", None)
    if store is not None:
        store.close()
