"""Sign-in: authorization code + PKCE against the local mock provider, sessions, groups."""

from __future__ import annotations

import base64
import hashlib

from itsdangerous import URLSafeTimedSerializer
from joserfc.jwk import RSAKey
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from app.auth import SESSION_KEYS, SessionKey, SignedCookieSessionMiddleware, safe_next
from tests.conftest import CLIENT_ID, HTML, SESSION_SECRET
from tests.kind_fixtures import MEMBER_GROUP, PRODUCTION_ENV


def session_data(client) -> dict:
    cookie = client.cookies.get("session")
    assert cookie, "no session cookie"
    return URLSafeTimedSerializer(SESSION_SECRET, salt="levee-session").loads(cookie)


def test_healthz_needs_no_login(client):
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}


def test_business_page_sends_browsers_to_sign_in(client):
    r = client.get("/", headers=HTML, follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/auth/login?next=%2F"
    assert client.get("/").status_code == 401  # API callers get a 401


def test_login_uses_pkce_s256_and_lands_on_the_page(client, oidc, login):
    login(client, sub="alice", name="Alice Example")
    authorize = oidc.authorize_requests[-1]
    assert authorize["code_challenge_method"] == "S256"
    assert authorize["client_id"] == CLIENT_ID
    assert authorize["redirect_uri"] == "http://testserver/auth/callback"
    token_form = oidc.token_requests[-1].form()
    verifier = token_form["code_verifier"]
    digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    assert digest == authorize["code_challenge"]  # the mock checked it too
    assert "client_secret" not in token_form  # a public client unless OIDC_CLIENT_SECRET is declared
    page = client.get("/", headers=HTML)
    assert page.status_code == 200
    assert "Alice Example" in page.text


def test_session_cookie_holds_identity_only(client, login):
    login(client, groups=[MEMBER_GROUP, "some-unrelated-group"])
    data = session_data(client)
    assert set(data) <= SESSION_KEYS
    assert data["uid"] == "alice"
    assert data["groups"] == [MEMBER_GROUP]  # only the groups app.yaml uses
    raw = client.cookies.get("session")
    assert "token" not in raw and "eyJ" not in base64.urlsafe_b64decode(raw.split(".")[0] + "==").decode(
        errors="ignore")


def test_user_outside_the_groups_is_refused(client, login):
    r = login(client, groups=["somebody-else"], expect=403)
    assert "not in a group allowed" in r.text
    assert client.get("/", headers=HTML, follow_redirects=False).status_code == 303


def test_no_groups_in_manifest_lets_any_signed_in_user_in(make_client, manifest_data, login):
    manifest_data["sso"]["groups"] = []
    client = make_client()
    login(client, groups=[])
    assert client.get("/", headers=HTML).status_code == 200


def test_sso_shorthand_reads_the_issuer_from_env(make_client, manifest_data, env, oidc, login):
    manifest_data["sso"] = "oidc"
    client = make_client(environ={**env, "OIDC_ISSUER": oidc.issuer})
    login(client, groups=[])
    assert client.get("/", headers=HTML).status_code == 200


def test_wrong_pkce_verifier_fails_sign_in(client, oidc, login):
    oidc.corrupt_challenge = True
    r = login(client, expect=400)
    assert "Sign-in failed" in r.text


def test_id_token_signed_by_another_key_is_rejected(client, oidc, login):
    oidc.signing_key = RSAKey.generate_key(2048)
    login(client, expect=400)
    assert client.cookies.get("session") is None or "uid" not in session_data(client)


def test_id_token_for_another_audience_is_rejected(client, oidc, login):
    oidc.id_token_overrides = {"aud": "another-app"}
    login(client, expect=400)


def test_id_token_with_wrong_nonce_is_rejected(client, oidc, login):
    oidc.id_token_overrides = {"nonce": "replayed-nonce"}
    login(client, expect=400)


def test_callback_with_unknown_state_is_rejected(client):
    r = client.get("/auth/callback?code=abc&state=forged", follow_redirects=False)
    assert r.status_code == 400


def test_return_target_must_be_local(client, login):
    r = login(client, next="//evil.example.com/x")
    assert r.headers["location"] == "/"
    for bad in ("https://evil.example.com", "/\\evil", "/auth/logout", "relative"):
        assert safe_next(bad) == "/"
    assert safe_next("/reports?x=1") == "/reports?x=1"


def test_confidential_client_sends_its_secret(make_client, manifest_data, env, oidc, login):
    manifest_data["secrets"].append({"name": "OIDC_CLIENT_SECRET", "provider": "env"})
    client = make_client(environ={**env, "OIDC_CLIENT_SECRET": "s3cret"})
    oidc.client_secret = "s3cret"
    login(client)
    assert oidc.token_requests[-1].headers["authorization"].startswith("Basic ")


def test_logout_needs_the_csrf_token_and_clears_the_session(client, login):
    login(client)
    token = session_data(client)["csrf"]
    bad = client.post("/auth/logout", data={"csrf_token": "nope"}, follow_redirects=False)
    assert bad.status_code == 403
    ok = client.post("/auth/logout", data={"csrf_token": token}, follow_redirects=False)
    assert ok.status_code == 303 and ok.headers["location"] == "/auth/logged-out"
    assert client.get("/", headers=HTML, follow_redirects=False).status_code == 303


def test_tampered_cookie_is_ignored(client, login):
    login(client)
    good = client.cookies.get("session")
    client.cookies.clear()
    assert client.get("/", headers={**HTML, "cookie": f"session={good}"}).status_code == 200
    tampered = good[:-2] + ("xx" if not good.endswith("xx") else "yy")
    r = client.get("/", headers={**HTML, "cookie": f"session={tampered}"}, follow_redirects=False)
    assert r.status_code == 303


def test_security_headers(client):
    r = client.get("/healthz")
    assert "default-src 'none'" in r.headers["content-security-policy"]
    assert r.headers["x-content-type-options"] == "nosniff"
    assert "strict-transport-security" not in r.headers  # only outside local development


def _cookie_app(secure: bool) -> TestClient:
    key = SessionKey()
    key.value = SESSION_SECRET

    async def set_user(request):
        request.session.update({"uid": "u1", "access_token": "must-not-be-stored"})
        return PlainTextResponse("ok")

    app = Starlette(routes=[Route("/", set_user)])
    return TestClient(SignedCookieSessionMiddleware(app, key=key, secure=secure, max_age=600))


def test_cookie_is_secure_outside_local_development():
    header = _cookie_app(secure=True).get("/").headers["set-cookie"]
    assert header.startswith("__Host-session=")
    for attr in ("Secure", "HttpOnly", "SameSite=Lax", "Path=/"):
        assert attr in header
    local = _cookie_app(secure=False).get("/").headers["set-cookie"]
    assert local.startswith("session=") and "Secure" not in local


def test_cookie_never_stores_tokens():
    header = _cookie_app(secure=False).get("/").headers["set-cookie"]
    value = header.split(";")[0].split("=", 1)[1]
    data = URLSafeTimedSerializer(SESSION_SECRET, salt="levee-session").loads(value)
    assert data == {"uid": "u1"}


def test_production_app_uses_secure_cookies_and_hsts(make_client, manifest_data, env):
    manifest_data["sso"]["issuer"] = "https://login.example.com"
    client = make_client(environ={**env, "APP_ENV": "production",
                                  "APP_BASE_URL": "https://app.example.com", **PRODUCTION_ENV})
    middleware = {m.cls.__name__: m.kwargs for m in client.app.user_middleware}
    assert middleware["SignedCookieSessionMiddleware"]["secure"] is True
    assert "strict-transport-security" in client.get("/healthz").headers


def test_login_server_down_is_a_clear_error(make_client, manifest_data):
    manifest_data["sso"]["issuer"] = "http://127.0.0.1:9"  # nothing listens there
    client = make_client()
    r = client.get("/auth/login", headers=HTML)
    assert r.status_code == 502 and "cannot be reached" in r.text


def test_only_the_latest_sign_in_attempt_is_kept(client, oidc):
    for _ in range(5):
        assert client.get("/auth/login", follow_redirects=False).status_code == 302
    data = session_data(client)
    assert len([k for k in data if k.startswith("_state_")]) == 1
    assert len(client.cookies.get("session")) < 1500


def test_dev_login_server_lets_you_pick_a_persona():
    import re
    from html import unescape

    import httpx2

    from tests.fakes import MockOIDC

    personas = [{"sub": "dev-a", "name": "A <admin>", "groups": ["g"]}, {"sub": "dev-b", "name": "B", "groups": []}]
    with MockOIDC(client_id="local-dev", personas=personas) as idp:
        params = {"response_type": "code", "client_id": "local-dev", "code_challenge": "x" * 43,
                  "code_challenge_method": "S256", "scope": "openid", "state": "s", "nonce": "n",
                  "redirect_uri": "http://127.0.0.1:8000/auth/callback"}
        page = httpx2.get(idp.url + "/authorize", params=params)
        assert page.status_code == 200 and "A &lt;admin&gt;" in page.text
        links = [unescape(u) for u in re.findall(r'href="([^"]+)"', page.text)]
        assert len(links) == 2
        picked = httpx2.get(links[1], follow_redirects=False)
        assert picked.status_code == 302
        assert picked.headers["location"].startswith("http://127.0.0.1:8000/auth/callback?code=")
