"""Outbound calls go through the egress proxy when deploy/ sets HTTP(S)_PROXY: the HTTP clients
(Authlib's, the webhook's, the dashboard's) honour the proxy variables of the process environment.
Checked with a login provider whose host name does not resolve: only the proxy can reach it."""

from __future__ import annotations

from tests.conftest import HTML
from tests.fakes import Recorder, Response

ISSUER = "http://login.proxy-test.invalid"


class ForwardProxy(Recorder):
    """A plain-http forward proxy (absolute-form request targets) that plays the login provider."""

    def handle(self, req):
        if req.headers.get("host") == "login.proxy-test.invalid" and req.path == "/.well-known/openid-configuration":
            return Response(200, {"issuer": ISSUER, "authorization_endpoint": f"{ISSUER}/authorize",
                                  "token_endpoint": f"{ISSUER}/token", "jwks_uri": f"{ISSUER}/jwks",
                                  "response_types_supported": ["code"]})
        return Response(502, {"error": "unexpected"})


def test_the_login_provider_is_reached_through_http_proxy(make_client, manifest_data, monkeypatch):
    with ForwardProxy() as proxy:
        for name in ("HTTP_PROXY", "HTTPS_PROXY"):
            monkeypatch.setenv(name, proxy.url)
        monkeypatch.setenv("NO_PROXY", "localhost,127.0.0.1,testserver")
        manifest_data["sso"]["issuer"] = ISSUER
        client = make_client()
        r = client.get("/auth/login", headers=HTML, follow_redirects=False)
        assert r.status_code == 303, r.text
        assert r.headers["location"].startswith(f"{ISSUER}/authorize?")
        assert [(q.headers.get("host"), q.path) for q in proxy.requests] == [
            ("login.proxy-test.invalid", "/.well-known/openid-configuration")]


def test_without_the_proxy_variables_the_provider_cannot_be_reached(make_client, manifest_data, monkeypatch):
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    manifest_data["sso"]["issuer"] = ISSUER
    client = make_client()
    assert client.get("/auth/login", headers=HTML, follow_redirects=False).status_code == 503
