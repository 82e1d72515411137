"""Webhook: checks that each call really comes from the sender, then passes it on.

POST /webhook (no sign-in: the signature is the check) must carry two headers:
  X-Webhook-Timestamp  the time of sending, in Unix seconds
  X-Webhook-Signature  sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>">
keyed with the secret WEBHOOK_SIGNING_SECRET (shared with the sender). Calls
older or newer than the tolerance are refused; a call seen before is answered
200 "duplicate" and not forwarded again. A good call (a JSON body) is
forwarded as-is to DOWNSTREAM_URL with `Authorization: Bearer <DOWNSTREAM_API_TOKEN>`.

Settings (environment):
  DOWNSTREAM_URL             where accepted events are sent (https outside development)
  DOWNSTREAM_TIMEOUT_MS      default 10000
  WEBHOOK_PATH               default /webhook
  WEBHOOK_TOLERANCE_SECONDS  replay window, default 300 (5 minutes)
  WEBHOOK_MAX_BYTES          largest accepted body, default 262144 (256 KiB)
  WEBHOOK_SIGNATURE_HEADER   default x-webhook-signature
  WEBHOOK_TIMESTAMP_HEADER   default x-webhook-timestamp

The page at / (sign-in required) shows what happened since the app started.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import time
from collections import Counter, OrderedDict
from urllib.parse import urlsplit

import httpx2
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from app.auth import CurrentUser
from app.config import ConfigError
from app.secret_store import get_secret
from app.web import render

log = logging.getLogger(__name__)

KIND = "webhook"
SIGNING_SECRET = "WEBHOOK_SIGNING_SECRET"
DOWNSTREAM_TOKEN = "DOWNSTREAM_API_TOKEN"
REQUIRED_SECRETS: tuple[str, ...] = (SIGNING_SECRET, DOWNSTREAM_TOKEN)
OUTCOMES = ("forwarded", "duplicate", "rejected_signature", "rejected_timestamp",
            "invalid_payload", "too_large", "downstream_error")


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature a sender puts in X-Webhook-Signature."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    return hmac.compare_digest(sign(secret, timestamp, body).encode(), signature.strip().encode())


class ReplayGuard:
    """Remembers signatures seen within the tolerance window."""

    def __init__(self, window: int, max_entries: int = 10_000) -> None:
        self.window = window
        self.max_entries = max_entries
        self._seen: OrderedDict[str, float] = OrderedDict()

    def seen_before(self, signature: str, now: float) -> bool:
        while self._seen and next(iter(self._seen.values())) < now - 2 * self.window:
            self._seen.popitem(last=False)
        if signature in self._seen:
            return True
        self._seen[signature] = now
        if len(self._seen) > self.max_entries:
            self._seen.popitem(last=False)
        return False

    def forget(self, signature: str) -> None:
        """After a failed forward, so that the sender's retry is not taken for a duplicate."""
        self._seen.pop(signature, None)


def check_downstream(url: str, egress: tuple[str, ...], local: bool) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"DOWNSTREAM_URL is not a valid URL: {url!r}")
    if parts.scheme != "https" and not local:
        raise ConfigError("DOWNSTREAM_URL must use https:// outside local development.")
    if egress and not local and parts.hostname.lower() not in egress:  # the sandbox enforces it
        raise ConfigError(
            f"DOWNSTREAM_URL host {parts.hostname} is not in app.yaml's runtime.egress "
            f"({', '.join(egress)}): the sandbox would block it. Add it there with levee."
        )


def _env_int(env, key: str, default: int, low: int, high: int) -> int:
    raw = env.get(key)
    try:
        value = int(raw) if raw else default
    except ValueError:
        raise ConfigError(f"{key} must be a whole number (got {raw!r}).") from None
    if not low <= value <= high:
        raise ConfigError(f"{key} must be between {low} and {high} (got {value}).")
    return value


def register(app: FastAPI) -> None:
    env = app.state.environ
    events = app.state.telemetry.meter.create_counter(
        "app.webhook.events", unit="{event}", description="Webhook deliveries processed, by outcome")
    tolerance = _env_int(env, "WEBHOOK_TOLERANCE_SECONDS", 300, 1, 3600)
    max_body = _env_int(env, "WEBHOOK_MAX_BYTES", 256 * 1024, 1, 10 * 1024 * 1024)
    path = (env.get("WEBHOOK_PATH") or "/webhook").strip()
    if not re.fullmatch(r"/[A-Za-z0-9/_-]*", path) or path.startswith("/auth/") or path == "/healthz":
        raise ConfigError(f"WEBHOOK_PATH {path!r} must be a plain path like /webhook")
    signature_header = (env.get("WEBHOOK_SIGNATURE_HEADER") or "x-webhook-signature").strip().lower()
    timestamp_header = (env.get("WEBHOOK_TIMESTAMP_HEADER") or "x-webhook-timestamp").strip().lower()
    downstream = (env.get("DOWNSTREAM_URL") or "").strip()
    if not downstream:
        raise ConfigError("DOWNSTREAM_URL is not set: the API that accepted webhook events are sent to.")
    check_downstream(downstream, app.state.manifest.egress, app.state.settings.is_local)
    guard = ReplayGuard(tolerance)
    counts: Counter[str] = Counter()
    app.state.webhook_counts = counts
    app.state.webhook_timeout = _env_int(env, "DOWNSTREAM_TIMEOUT_MS", 10_000, 100, 120_000) / 1000.0

    def outcome(name: str, status: int, message: str) -> JSONResponse:
        counts[name] += 1
        events.add(1, {"outcome": name})
        return JSONResponse({"status": name, "detail": message}, status_code=status)

    @app.post(path)
    async def receive(request: Request):
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > max_body:
            return outcome("too_large", 413, f"Body larger than {max_body} bytes.")
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > max_body:
                return outcome("too_large", 413, f"Body larger than {max_body} bytes.")
        timestamp = request.headers.get(timestamp_header, "")
        signature = request.headers.get(signature_header, "")
        if not signature:
            return outcome("rejected_signature", 401, "Missing signature header.")
        if not timestamp.isdigit():
            return outcome("rejected_timestamp", 401, "Missing or malformed timestamp header.")
        secret = await get_secret(SIGNING_SECRET)
        if not verify(secret, timestamp, body, signature):
            return outcome("rejected_signature", 401, "Signature does not match.")
        now = time.time()
        if abs(now - int(timestamp)) > tolerance:
            return outcome("rejected_timestamp", 401, "Timestamp outside the allowed window.")
        if guard.seen_before(signature, now):
            return outcome("duplicate", 200, "Already received; not forwarded again.")
        if not request.headers.get("content-type", "").lower().startswith("application/json"):
            return outcome("invalid_payload", 400, "Body must be JSON (content-type application/json).")
        try:
            json.loads(body)
        except ValueError:
            return outcome("invalid_payload", 400, "Body is not valid JSON.")
        token = await get_secret(DOWNSTREAM_TOKEN)
        headers = {"authorization": f"Bearer {token}", "content-type": "application/json"}
        try:
            response = await request.app.state.http.post(downstream, content=body, headers=headers)
        except httpx2.HTTPError as exc:
            log.warning("Forwarding failed: %s", type(exc).__name__)
            guard.forget(signature)
            return outcome("downstream_error", 502, "The downstream service could not be reached.")
        if response.status_code >= 400:
            log.warning("Downstream answered %s", response.status_code)
            guard.forget(signature)
            return outcome("downstream_error", 502, f"The downstream service answered {response.status_code}.")
        return outcome("forwarded", 202, "Forwarded.")

    @app.get("/")
    async def status(request: Request, user: CurrentUser):
        return render(request, "webhook.html", counts=[(o, counts.get(o, 0)) for o in OUTCOMES],
                      downstream_host=urlsplit(downstream).hostname, tolerance=tolerance, path=path)


async def startup(app: FastAPI) -> None:
    app.state.http = httpx2.AsyncClient(timeout=app.state.webhook_timeout, follow_redirects=False)


async def shutdown(app: FastAPI) -> None:
    http = getattr(app.state, "http", None)
    if http is not None:
        await http.aclose()
