"""Webhook: checks that each call really comes from the sender, then passes it on.

POST /webhook (no sign-in: the signature is the check) must carry two headers:
  X-Webhook-Timestamp  the time of sending, in Unix seconds
  X-Webhook-Signature  sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>">
keyed with the secret WEBHOOK_SIGNING_SECRET (shared with the sender). Calls
older or newer than the tolerance are refused; a call seen before is answered
200 "duplicate" and not forwarded again. A good call (a JSON body) is
forwarded as-is to DOWNSTREAM_URL with `Authorization: Bearer <DOWNSTREAM_API_TOKEN>`,
an `Idempotency-Key` (the signature) and the W3C `traceparent`; a failed forward is
retried with backoff before the answer is 502. Every answer is {"status", "detail"}.

Settings (environment):
  DOWNSTREAM_URL             where accepted events are sent (https outside development)
  DOWNSTREAM_TIMEOUT_MS      per attempt, default 10000
  DOWNSTREAM_RETRIES         extra attempts after a failure (no answer, 408, 429, 5xx), default 2
  DOWNSTREAM_RETRY_BASE_MS   backoff before the first retry, doubled each time, default 250
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
import random
import re
import time
from collections import Counter, OrderedDict
from urllib.parse import urlsplit

import anyio
import httpx2
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from opentelemetry.propagate import inject
from opentelemetry.trace import SpanKind, Status, StatusCode

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


def verify(secret: str, timestamp: str, body: bytes, signature: str, now: float, tolerance: int) -> tuple[str, str]:
    """(outcome, detail) of the checks, in the Node app's order; outcome "ok" with the signature's hex."""
    if not signature:
        return "rejected_signature", "Missing signature header."
    if not re.fullmatch(r"\d{1,12}", timestamp or ""):
        return "rejected_timestamp", "Missing or malformed timestamp header."
    if abs(now - int(timestamp)) > tolerance:
        return "rejected_timestamp", "Timestamp outside the allowed window."
    m = re.fullmatch(r"sha256=([0-9a-fA-F]{64})", signature.strip())
    expected = sign(secret, timestamp, body)[7:]
    given = m.group(1).lower() if m else "0" * 64
    if not (hmac.compare_digest(given.encode(), expected.encode()) and m):
        return "rejected_signature", "Signature does not match."
    return "ok", given


class ReplayGuard:
    """Remembers deliveries already handled (by signature) until they leave the replay window, so a
    captured request can't be replayed inside the window. It lives in this process's memory: each
    replica has its own (README, "Replays"); deploy/ runs one replica."""

    def __init__(self, max_entries: int = 50_000) -> None:
        self.max_entries = max_entries
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._in_flight: set[str] = set()

    def claim(self, signature: str, now: float) -> bool:
        """Reserve a delivery. False if it was already handled or is being handled right now."""
        for sig in [k for k, until in self._seen.items() if until < now]:
            del self._seen[sig]
        if signature in self._seen or signature in self._in_flight:
            return False
        self._in_flight.add(signature)
        return True

    def done(self, signature: str, until: float) -> None:
        """The delivery was handled: refuse it until `until`."""
        self._in_flight.discard(signature)
        self._seen[signature] = until
        while len(self._seen) > self.max_entries:
            self._seen.popitem(last=False)

    def release(self, signature: str) -> None:
        """Handling failed: the sender may retry the same delivery."""
        self._in_flight.discard(signature)


def _retryable(status: int) -> bool:
    return status in (0, 408, 429) or status >= 500


async def forward(http: httpx2.AsyncClient, tracer, url: str, body: bytes, token: str, key: str,
                  retries: int, base_ms: int) -> tuple[bool, int, int]:
    """POST the event downstream; retried with backoff on no answer, 408, 429 or 5xx, with the same
    Idempotency-Key. Each attempt is a client span; W3C traceparent goes with it. (ok, status, attempts)"""
    parts = urlsplit(url)
    status = 0
    for attempt in range(retries + 1):
        if attempt:
            await anyio.sleep(base_ms * 2 ** (attempt - 1) * (0.5 + random.random() / 2) / 1000)
        attrs = {"http.request.method": "POST", "server.address": parts.hostname or "",
                 "url.full": f"{parts.scheme}://{parts.netloc}{parts.path}"}
        if attempt:
            attrs["http.request.resend_count"] = attempt
        with tracer.start_as_current_span("POST", kind=SpanKind.CLIENT, attributes=attrs) as span:
            headers = {"authorization": f"Bearer {token}", "content-type": "application/json",
                       "idempotency-key": key}
            inject(headers)
            try:
                response = await http.post(url, content=body, headers=headers)
                status = response.status_code
                span.set_attribute("http.response.status_code", status)
            except httpx2.HTTPError as exc:
                status = 0
                span.set_attribute("error.type", type(exc).__name__)
            ok = 200 <= status < 300
            if not ok:
                span.set_status(Status(StatusCode.ERROR))
        if ok or not _retryable(status):
            return ok, status, attempt + 1
    return False, status, retries + 1


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


def check_manifest(manifest, environ) -> list[str]:
    """Kind-specific checks of app.yaml (plain-word problems; empty = fine)."""
    return []


def register(app: FastAPI) -> None:
    env = app.state.environ
    events = app.state.telemetry.meter.create_counter(
        "app.webhook.events", unit="{event}", description="Webhook deliveries processed, by outcome")
    tolerance = _env_int(env, "WEBHOOK_TOLERANCE_SECONDS", 300, 1, 3600)
    max_body = _env_int(env, "WEBHOOK_MAX_BYTES", 256 * 1024, 1, 10 * 1024 * 1024)
    retries = _env_int(env, "DOWNSTREAM_RETRIES", 2, 0, 5)
    retry_base_ms = _env_int(env, "DOWNSTREAM_RETRY_BASE_MS", 250, 1, 10_000)
    path = (env.get("WEBHOOK_PATH") or "/webhook").strip()
    if not re.fullmatch(r"/[A-Za-z0-9/_-]*", path) or path.startswith("/auth/") or path == "/healthz":
        raise ConfigError(f'WEBHOOK_PATH "{path}" must be a plain path like /webhook')
    signature_header = (env.get("WEBHOOK_SIGNATURE_HEADER") or "x-webhook-signature").strip().lower()
    timestamp_header = (env.get("WEBHOOK_TIMESTAMP_HEADER") or "x-webhook-timestamp").strip().lower()
    downstream = (env.get("DOWNSTREAM_URL") or "").strip()
    if not downstream:
        raise ConfigError("DOWNSTREAM_URL is not set: the API that accepted webhook events are sent to.")
    check_downstream(downstream, app.state.manifest.egress, app.state.settings.is_local)
    guard = ReplayGuard()
    counts: Counter[str] = Counter()
    app.state.webhook_counts = counts
    app.state.webhook_timeout = _env_int(env, "DOWNSTREAM_TIMEOUT_MS", 10_000, 100, 120_000) / 1000.0
    tracer = app.state.telemetry.tracer

    def answer(name: str, status: int, detail: str) -> JSONResponse:
        """Every answer is {"status": <outcome>, "detail": <plain words>} (CONTRACT.md)."""
        counts[name] += 1
        events.add(1, {"outcome": name})
        return JSONResponse({"status": name, "detail": detail}, status_code=status)

    @app.post(path)
    async def receive(request: Request):
        too_large = f"Body larger than {max_body} bytes."
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > max_body:
            return answer("too_large", 413, too_large)
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > max_body:
                return answer("too_large", 413, too_large)
        now = time.time()
        outcome, detail = verify(await get_secret(SIGNING_SECRET), request.headers.get(timestamp_header, ""), body,
                                 request.headers.get(signature_header, ""), now, tolerance)
        if outcome != "ok":
            log.warning("Webhook rejected: %s", detail)
            return answer(outcome, 401, detail)
        signature = detail
        if not guard.claim(signature, now):
            return answer("duplicate", 200, "Already received; not forwarded again.")
        timestamp = int(request.headers.get(timestamp_header, "0"))
        try:
            if not request.headers.get("content-type", "").lower().startswith("application/json"):
                raise ValueError("content-type")
            json.loads(body)
        except ValueError:
            guard.done(signature, timestamp + tolerance)
            return answer("invalid_payload", 400, "Body must be JSON (content-type application/json).")
        try:
            ok, status, attempts = await forward(request.app.state.http, tracer, downstream, body,
                                                 await get_secret(DOWNSTREAM_TOKEN), signature, retries,
                                                 retry_base_ms)
        except BaseException:
            guard.release(signature)
            raise
        if not ok:
            # Not remembered: the sender's retry of this same delivery is welcome.
            guard.release(signature)
            log.warning("Downstream refused the webhook event (HTTP %s, %d attempts)", status, attempts)
            return answer("downstream_error", 502, "The downstream service could not be reached." if status == 0
                          else f"The downstream service answered {status}.")
        guard.done(signature, timestamp + tolerance)
        return answer("forwarded", 202, "Forwarded.")

    @app.get("/")
    async def status_page(request: Request, user: CurrentUser):
        return render(request, "webhook.html", counts=[(o, counts.get(o, 0)) for o in OUTCOMES],
                      downstream_host=urlsplit(downstream).hostname, tolerance=tolerance, path=path)


async def startup(app: FastAPI) -> None:
    app.state.http = httpx2.AsyncClient(timeout=app.state.webhook_timeout, follow_redirects=False)


async def shutdown(app: FastAPI) -> None:
    http = getattr(app.state, "http", None)
    if http is not None:
        await http.aclose()
