"""The webhook: HMAC-SHA256 over "timestamp.body", replay window, forwarding, metric."""

from __future__ import annotations

import re
import time

import pytest

from app.config import ConfigError
from app.kind import check_downstream, sign
from tests.conftest import HTML
from tests.fakes import Response
from tests.kind_fixtures import DOWNSTREAM_TOKEN, SIGNING_SECRET

BODY = b'{"event":"invoice.paid","id":"evt_1"}'


def post(client, body=BODY, ts=None, secret=SIGNING_SECRET, signature=None, **headers):
    ts = str(int(time.time()) if ts is None else ts)
    sig = signature or sign(secret, ts, body)
    return client.post("/webhook", content=body, headers={
        "content-type": "application/json", "x-webhook-timestamp": ts, "x-webhook-signature": sig, **headers})


def test_signed_call_is_forwarded_with_the_bearer_token(client, downstream):
    r = post(client)
    assert r.status_code == 202, r.text
    forwarded = downstream.requests[-1]
    assert forwarded.path == "/events"
    assert forwarded.body == BODY
    assert forwarded.headers["authorization"] == f"Bearer {DOWNSTREAM_TOKEN}"
    assert forwarded.headers["content-type"] == "application/json"
    assert re.fullmatch(r"[0-9a-f]{64}", forwarded.headers["idempotency-key"])
    assert re.fullmatch(r"00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}", forwarded.headers["traceparent"])
    assert r.json() == {"status": "forwarded", "detail": "Forwarded."}
    spans = {s.name: s for s in client.telemetry.spans.get_finished_spans()}
    client_span = spans["POST"]
    assert client_span.kind.name == "CLIENT"
    assert forwarded.headers["traceparent"].split("-")[1] == format(client_span.context.trace_id, "032x")


def test_wrong_signature_is_refused(client, downstream):
    for r in (post(client, secret="not-the-secret"), post(client, signature="sha256=" + "0" * 64),
              post(client, signature="garbage")):
        assert r.status_code == 401 and r.json()["status"] == "rejected_signature"
    assert not downstream.requests


def test_tampered_body_is_refused(client, downstream):
    ts = str(int(time.time()))
    sig = sign(SIGNING_SECRET, ts, BODY)
    r = post(client, body=BODY.replace(b"evt_1", b"evt_2"), ts=ts, signature=sig)
    assert r.status_code == 401 and not downstream.requests


def test_missing_headers_are_refused(client):
    r = client.post("/webhook", content=BODY, headers={"content-type": "application/json"})
    assert r.status_code == 401
    assert r.json() == {"status": "rejected_signature", "detail": "Missing signature header."}
    r = post(client, ts="yesterday", signature="sha256=00")
    assert r.status_code == 401
    assert r.json() == {"status": "rejected_timestamp", "detail": "Missing or malformed timestamp header."}


# A future timestamp is a minute past the window: the request is judged a moment after `ts`
# is taken, and 301 seconds ahead could be judged 300 ahead (inside) when a second ticks over.
@pytest.mark.parametrize("skew", [-301, 360, -3600])
def test_calls_outside_the_five_minute_window_are_refused(client, downstream, skew):
    r = post(client, ts=int(time.time()) + skew)
    assert r.status_code == 401 and r.json()["status"] == "rejected_timestamp"
    assert not downstream.requests


def test_a_replayed_call_is_not_forwarded_twice(client, downstream):
    ts = int(time.time())
    assert post(client, ts=ts).status_code == 202
    again = post(client, ts=ts)
    assert again.status_code == 200 and again.json()["status"] == "duplicate"
    assert len(downstream.requests) == 1


def test_a_failed_forward_is_retried_with_the_same_key_before_502(client, downstream):
    downstream.status = 503
    ts = int(time.time())
    r = post(client, ts=ts)
    assert r.status_code == 502
    assert r.json() == {"status": "downstream_error", "detail": "The downstream service answered 503."}
    assert len(downstream.requests) == 3, "one attempt and DOWNSTREAM_RETRIES=2 retries"
    assert len({q.headers["idempotency-key"] for q in downstream.requests}) == 1
    downstream.status = 200
    assert post(client, ts=ts).status_code == 202  # the sender's retry is not a "duplicate"
    assert len(downstream.requests) == 4


def test_a_passing_hiccup_is_absorbed_and_a_4xx_is_not_retried(client, downstream):
    statuses = [503, 429]
    downstream.handle = lambda req: Response(statuses.pop(0) if statuses else 200, {"ok": True})
    assert post(client).status_code == 202
    assert len(downstream.requests) == 3
    downstream.requests.clear()
    statuses[:] = [400]
    assert post(client, body=b'{"id":"evt_7"}').status_code == 502
    assert len(downstream.requests) == 1, "a 400 will not get better by retrying"


def test_an_unreachable_downstream_is_a_502_after_the_retries(make_client, env):
    client = make_client(environ={**env, "DOWNSTREAM_URL": "http://127.0.0.1:9/events"})
    r = post(client)
    assert r.status_code == 502
    assert r.json() == {"status": "downstream_error", "detail": "The downstream service could not be reached."}


def test_body_must_be_json(client, downstream):
    r = post(client, body=b"not json")
    assert r.status_code == 400 and r.json()["status"] == "invalid_payload"
    r = post(client, **{"content-type": "text/plain"})
    assert r.status_code == 400
    assert not downstream.requests


def test_too_large_bodies_are_refused(make_client, env):
    client = make_client(environ={**env, "WEBHOOK_MAX_BYTES": "16"})
    r = post(client, body=b'{"x": "' + b"y" * 20 + b'"}')
    assert r.status_code == 413 and r.json()["status"] == "too_large"


def test_path_and_headers_are_configurable(make_client, env, downstream):
    client = make_client(environ={**env, "WEBHOOK_PATH": "/hooks/acme", "WEBHOOK_SIGNATURE_HEADER": "X-Acme-Sig",
                                  "WEBHOOK_TIMESTAMP_HEADER": "X-Acme-Time"})
    ts = str(int(time.time()))
    r = client.post("/hooks/acme", content=BODY, headers={
        "content-type": "application/json", "x-acme-time": ts, "x-acme-sig": sign(SIGNING_SECRET, ts, BODY)})
    assert r.status_code == 202
    with pytest.raises(ConfigError, match="WEBHOOK_PATH"):
        make_client(environ={**env, "WEBHOOK_PATH": "/auth/callback"})


def test_webhook_events_metric_by_outcome(client):
    post(client)
    post(client, secret="wrong")
    post(client, ts=int(time.time()) - 1000)
    t = client.telemetry
    assert t.total("app.webhook.events", outcome="forwarded") == 1
    assert t.total("app.webhook.events", outcome="rejected_signature") == 1
    assert t.total("app.webhook.events", outcome="rejected_timestamp") == 1


def test_status_page_needs_sign_in_and_shows_counts(client, login):
    assert client.get("/", headers=HTML, follow_redirects=False).status_code == 303
    post(client)
    login(client)
    page = client.get("/", headers=HTML).text
    assert "forwarded" in page and "127.0.0.1" in page


def test_downstream_url_rules(manifest_data, env, make_client):
    with pytest.raises(ConfigError, match="https://"):
        check_downstream("http://api.example.com/x", (), local=False)
    check_downstream("http://127.0.0.1:9/x", (), local=True)
    with pytest.raises(ConfigError, match="runtime.egress"):
        check_downstream("https://evil.example.com/x", ("api.payments.example.com",), local=False)
    check_downstream("https://api.payments.example.com/x", ("api.payments.example.com",), local=False)
    check_downstream("http://127.0.0.1:9500/x", ("api.payments.example.com",), local=True)  # your computer
    with pytest.raises(ConfigError, match="DOWNSTREAM_URL"):
        make_client(environ={k: v for k, v in env.items() if k != "DOWNSTREAM_URL"})


def test_signing_secret_comes_from_the_secret_store(make_client, manifest_data, env):
    manifest_data["secrets"] = [s for s in manifest_data["secrets"] if s["name"] != "WEBHOOK_SIGNING_SECRET"]
    with pytest.raises(ConfigError, match="WEBHOOK_SIGNING_SECRET is not declared"):
        make_client()
