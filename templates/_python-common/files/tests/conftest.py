"""Shared test set-up: a local OIDC provider, an app factory and a login helper.

Everything runs offline: the only network traffic is to 127.0.0.1.
Kind-specific settings come from tests/kind_fixtures.py (one per app kind):
KIND_GROUPS, MEMBER_GROUP, KIND_SECRETS and the `kind_env` fixture.
"""

from __future__ import annotations

import copy
import re
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from app import kind
from app.config import parse_manifest
from app.main import create_app
from app.telemetry import Telemetry
from tests.fakes import MockOIDC
from tests.kind_fixtures import *  # noqa: F403  (kind_env and friends)
from tests.kind_fixtures import KIND_GROUPS, KIND_SECRETS, MEMBER_GROUP

CLIENT_ID = "levee-test-client"
SESSION_SECRET = "test-session-secret-0123456789-abcdefghijklmnop"


@pytest.fixture(scope="session")
def oidc() -> Iterator[MockOIDC]:
    with MockOIDC(client_id=CLIENT_ID) as provider:
        yield provider


@pytest.fixture(autouse=True)
def _fresh_oidc(oidc: MockOIDC) -> None:
    oidc.reset()


@pytest.fixture
def manifest_data(oidc: MockOIDC) -> dict[str, Any]:
    """The app.yaml of the app under test, as a dict; a test may change it before make_client()."""
    return {
        "name": "test-app",
        "description": "test",
        "owner": "owner@example.com",
        "team": "test",
        "kind": kind.KIND,
        "stack": "python",
        "classification": "internal",
        "sso": {"provider": "oidc", "issuer": oidc.issuer, "groups": list(KIND_GROUPS),
                "scopes": ["openid", "profile", "email"]},
        "runtime": {"type": "sandboxed-container", "egress": []},
        "secrets": [{"name": "SESSION_SECRET", "provider": "env"}]
        + [{"name": n, "provider": "env"} for n in KIND_SECRETS],
        "data_access": [{"dataset": "example", "access_level": "read", "purpose": "tests"}],
        "lifecycle": {"tier": "prototype", "created": "2026-03-01", "expires": "2026-04-01"},
        "cost": {"center": "CC-1", "estimated_monthly_usd": 1},
        "ci": "github",
        "template": {"id": f"{kind.KIND}-python", "version": "1.0.0", "source": "builtin"},
    }


@pytest.fixture
def env(kind_env: dict[str, str], tmp_path) -> dict[str, str]:
    """The environment the app sees (passed to create_app, os.environ is left alone)."""
    return {
        "APP_ENV": "test",
        # The one directory the app may write to (CONTRACT.md): a fresh one per test.
        "DATA_DIR": str(tmp_path / "app-data"),
        "OIDC_CLIENT_ID": CLIENT_ID,
        "SESSION_SECRET": SESSION_SECRET,
        "OTEL_SDK_DISABLED": "true",
        **KIND_SECRETS,
        **kind_env,
    }


class InMemoryTelemetry:
    def __init__(self, manifest) -> None:
        self.spans = InMemorySpanExporter()
        self.reader = InMemoryMetricReader()
        self.telemetry = Telemetry.build(manifest, span_processor=SimpleSpanProcessor(self.spans),
                                         metric_reader=self.reader)

    def points(self, name: str) -> list[Any]:
        data = self.reader.get_metrics_data()
        out = []
        for rm in data.resource_metrics if data else []:
            for sm in rm.scope_metrics:
                for metric in sm.metrics:
                    if metric.name == name:
                        out.extend(metric.data.data_points)
        return out

    def total(self, name: str, **attrs: Any) -> float:
        return sum(p.value for p in self.points(name)
                   if all(p.attributes.get(k) == v for k, v in attrs.items()))


@pytest.fixture
def make_client(manifest_data, env) -> Iterator[Callable[..., TestClient]]:
    """make_client() -> a started TestClient; .telemetry on it is the InMemoryTelemetry."""
    clients: list[TestClient] = []

    def _make(*, manifest: dict | None = None, environ: dict | None = None, **kwargs) -> TestClient:
        data = copy.deepcopy(manifest if manifest is not None else manifest_data)
        environ = dict(environ if environ is not None else env)
        parsed = parse_manifest(data, environ)
        mem = InMemoryTelemetry(parsed)
        offset = [0.0]
        app = create_app(manifest=parsed, environ=environ, telemetry=mem.telemetry,
                         clock=lambda: time.time() + offset[0], **kwargs)
        client = TestClient(app, base_url="http://testserver", headers={"accept": "text/html,*/*;q=0.8"})
        client.__enter__()
        client.telemetry = mem  # type: ignore[attr-defined]
        # Move the app's clock forward (sessions, group refresh, caches).
        client.advance = lambda seconds: offset.__setitem__(0, offset[0] + seconds)  # type: ignore[attr-defined]
        clients.append(client)
        return client

    yield _make
    for c in clients:
        c.__exit__(None, None, None)


@pytest.fixture
def client(make_client) -> TestClient:
    return make_client()


@pytest.fixture
def login(oidc: MockOIDC) -> Callable[..., Any]:
    """login(client, sub=..., groups=[...]) runs the whole authorization-code + PKCE flow."""
    import httpx2

    def _login(client: TestClient, sub: str = "alice", name: str | None = None,
               groups: list[str] | None = None, next: str = "/", expect: int = 303, **claims: Any):
        oidc.next_user = {"sub": sub, "name": name or sub.title(), "email": f"{sub}@example.com",
                          "groups": [MEMBER_GROUP] if groups is None else groups, **claims}
        start = client.get("/auth/login", params={"next": next}, follow_redirects=False)
        assert start.status_code == 303, start.text
        authorize_url = start.headers["location"]
        assert authorize_url.startswith(oidc.url + "/authorize?")
        at_idp = httpx2.get(authorize_url, follow_redirects=False)
        assert at_idp.status_code == 302, at_idp.text
        callback = client.get(at_idp.headers["location"], follow_redirects=False)
        assert callback.status_code == expect, callback.text
        return callback

    return _login


HTML = {"accept": "text/html"}
JSON = {"accept": "application/json"}


def csrf(client) -> str:
    """The CSRF token from a page of the app (as a browser would find it)."""
    page = client.get("/", headers=HTML)
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match, f"no CSRF token on / (HTTP {page.status_code})"
    return match.group(1)
