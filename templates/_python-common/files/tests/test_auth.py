"""Sign-in: authorization code + PKCE against the local mock provider, sessions, groups, sign-out."""

from __future__ import annotations

import base64
import hashlib
import time
from urllib.parse import parse_qs, urlsplit

import httpx2
import pytest
from joserfc.jwk import RSAKey

from fastapi.testclient import TestClient

from app.auth import MemorySessionStore, cookie_names, safe_next
from app.config import ConfigError
from tests.conftest import CLIENT_ID, HTML, JSON, csrf
from tests.kind_fixtures import KIND_GROUPS, MEMBER_GROUP, PRODUCTION_ENV, REQUIRES_GROUPS

SID = "test-app.sid"
LOGIN = "test-app.login"


def test_healthz_needs_no_login(client):
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.json()["status"] == "ok"
    assert r.json()["telemetry"] in {"exporting", "disabled"}


def test_business_page_sends_browsers_to_sign_in(client):
    r = client.get("/", headers=HTML, follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/auth/login?next=%2F"
    api = client.get("/", headers=JSON)
    assert api.status_code == 401 and api.json() == {"error": "Sign in first."}


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


def test_login_state_is_a_sealed_cookie_and_the_session_cookie_an_opaque_id(client, oidc):
    oidc.next_user = {"sub": "mia", "name": "Mia", "groups": [MEMBER_GROUP]}
    start = client.get("/auth/login", follow_redirects=False)
    assert start.status_code == 303
    assert set(client.cookies.keys()) == {LOGIN}, "only the login cookie before sign-in"
    header = start.headers["set-cookie"]
    for attr in ("HttpOnly", "SameSite=Lax", "Max-Age=600"):
        assert attr in header
    sealed = client.cookies[LOGIN]
    padded = base64.urlsafe_b64decode(sealed + "=" * (-len(sealed) % 4))
    assert b"state" not in padded and b"nonce" not in padded and b"verifier" not in padded
    at_idp = httpx2.get(start.headers["location"], follow_redirects=False)
    callback = client.get(at_idp.headers["location"], follow_redirects=False)
    assert callback.status_code == 303
    assert set(client.cookies.keys()) == {SID}, "the login cookie is gone, the session cookie is set"
    assert len(client.cookies[SID]) < 120 and "eyJ" not in client.cookies[SID]


def test_user_outside_the_groups_is_refused_at_sign_in_without_a_session(client, login):
    r = login(client, groups=["somebody-else"], expect=403)
    assert "only for members of" in r.text and KIND_GROUPS[0] in r.text
    assert SID not in client.cookies
    assert client.get("/", headers=HTML, follow_redirects=False).status_code == 303


def test_no_groups_in_manifest_lets_any_signed_in_user_in_unless_the_kind_needs_groups(
        make_client, manifest_data, login):
    manifest_data["sso"]["groups"] = []
    if REQUIRES_GROUPS:
        # Such a kind (a form needs its approver group) refuses to start, saying what to add.
        with pytest.raises(ConfigError, match=r"sso\.groups"):
            make_client()
        return
    client = make_client()
    login(client, groups=[])
    assert client.get("/", headers=HTML).status_code == 200


def test_sso_shorthand_reads_the_issuer_from_env(make_client, manifest_data, env, oidc, login):
    manifest_data["sso"] = "oidc"
    # (a form also needs its approver group; with no sso.groups it is named in the environment)
    client = make_client(environ={**env, "OIDC_ISSUER": oidc.issuer, "FORM_APPROVER_GROUP": MEMBER_GROUP})
    login(client, groups=[MEMBER_GROUP])
    assert client.get("/", headers=HTML).status_code == 200


def test_wrong_pkce_verifier_fails_sign_in(client, oidc, login):
    oidc.corrupt_challenge = True
    r = login(client, expect=400)
    assert "could not be completed" in r.text


@pytest.mark.parametrize("what", ["foreign key", "another issuer", "another audience", "expired", "wrong nonce"])
def test_id_token_refusals(client, oidc, login, what):
    now = int(time.time())
    if what == "foreign key":
        oidc.signing_key = RSAKey.generate_key(2048)
    else:
        oidc.id_token_overrides = {
            "another issuer": {"iss": "https://evil.example.com"},
            "another audience": {"aud": "another-app"},
            "expired": {"exp": now - 600, "iat": now - 900},
            "wrong nonce": {"nonce": "replayed-nonce"},
        }[what]
    r = login(client, expect=400)
    assert "could not be completed" in r.text
    assert SID not in client.cookies


def test_callback_with_unknown_state_or_no_login_is_rejected(client):
    assert client.get("/auth/callback?code=abc&state=forged", follow_redirects=False).status_code == 400


def test_tampered_or_late_login_cookie_is_refused(client, oidc):
    oidc.next_user = {"sub": "mia", "name": "Mia", "groups": [MEMBER_GROUP]}
    start = client.get("/auth/login", follow_redirects=False)
    back = httpx2.get(start.headers["location"], follow_redirects=False).headers["location"]
    sealed = client.cookies[LOGIN]
    client.cookies.clear()
    client.cookies.set(LOGIN, sealed[:-4] + ("BBBB" if sealed.endswith("AAAA") else "AAAA"))
    assert client.get(back, follow_redirects=False).status_code == 400
    client.cookies.clear()
    start = client.get("/auth/login", follow_redirects=False)
    back = httpx2.get(start.headers["location"], follow_redirects=False).headers["location"]
    client.advance(11 * 60)
    assert client.get(back, follow_redirects=False).status_code == 400, "a sign-in may take 10 minutes at most"


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


def test_sign_out_needs_csrf_revokes_the_session_and_ends_it_at_the_provider(client, oidc, login):
    login(client)
    copied = client.cookies[SID]
    bad = client.post("/auth/logout", data={"csrf_token": "nope"}, follow_redirects=False)
    assert bad.status_code == 403
    ok = client.post("/auth/logout", data={"csrf_token": csrf(client)}, follow_redirects=False)
    assert ok.status_code == 303
    target = urlsplit(ok.headers["location"])
    assert f"{target.scheme}://{target.netloc}{target.path}" == f"{oidc.issuer}/end_session"
    query = {k: v[0] for k, v in parse_qs(target.query).items()}
    assert query["post_logout_redirect_uri"] == "http://testserver/auth/logged-out"
    assert query["id_token_hint"].startswith("eyJ")
    assert client.get("/", headers=HTML, follow_redirects=False).status_code == 303
    # A cookie copied before sign-out no longer works.
    client.cookies.clear()
    client.cookies.set(SID, copied)
    assert client.get("/", headers=HTML, follow_redirects=False).status_code == 303


def test_without_end_session_endpoint_sign_out_ends_on_the_apps_page(client, oidc, login):
    oidc.end_session = False
    login(client)
    ok = client.post("/auth/logout", data={"csrf_token": csrf(client)}, follow_redirects=False)
    assert ok.headers["location"] == "/auth/logged-out"


def test_groups_are_read_again_after_the_refresh_interval(client, oidc, login):
    login(client, sub="leaver")
    assert client.get("/", headers=HTML).status_code == 200
    oidc.set_groups("leaver", ["some-other-team"])
    assert client.get("/", headers=HTML).status_code == 200, "groups are trusted for a while"
    asked = len(oidc.userinfo_requests)
    client.advance(11 * 60)
    assert client.get("/", headers=HTML).status_code == 403, "after the refresh interval the new groups count"
    assert len(oidc.userinfo_requests) == asked + 1


def test_when_groups_cannot_be_re_read_the_person_signs_in_again(client, login):
    login(client, sub="long")
    client.advance(2 * 60 * 60)  # the access token (1 hour) has expired
    r = client.get("/?x=1", headers=HTML, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/auth/login?next=%2F%3Fx%3D1"


def test_groups_from_userinfo_when_the_id_token_has_none(client, oidc, login):
    oidc.groups_in_id_token = False
    login(client, sub="info")
    assert client.get("/", headers=HTML).status_code == 200
    assert oidc.userinfo_requests[-1] == "info"


def test_anonymous_sign_in_starts_keep_nothing_and_never_push_anyone_out(make_client, login):
    store = MemorySessionStore(max_entries=5)
    client = make_client(session_store=store)
    login(client)
    assert len(store) == 1
    anonymous = TestClient(client.app, base_url="http://testserver")  # the same app, no cookies
    for _ in range(50):
        assert anonymous.get("/auth/login", follow_redirects=False).status_code == 303
        anonymous.cookies.clear()
    assert len(store) == 1, "no server-side state for a sign-in in progress"
    assert client.get("/", headers=HTML).status_code == 200, "still signed in"


def test_tampered_session_cookie_is_ignored(client, login):
    login(client)
    good = client.cookies[SID]
    client.cookies.clear()
    client.cookies.set(SID, good[:-2] + ("xx" if not good.endswith("xx") else "yy"))
    assert client.get("/", headers=HTML, follow_redirects=False).status_code == 303


def test_security_headers(client):
    r = client.get("/healthz")
    assert "default-src 'none'" in r.headers["content-security-policy"]
    assert r.headers["x-content-type-options"] == "nosniff"
    assert "strict-transport-security" not in r.headers  # only outside local development


def test_cookie_names_are_host_only_outside_local_development():
    assert cookie_names("my-app", secure=True) == ("__Host-my-app.sid", "__Host-my-app.login")
    assert cookie_names("my-app", secure=False) == ("my-app.sid", "my-app.login")


def test_production_app_uses_secure_cookies_and_hsts(make_client, manifest_data, env, oidc):
    manifest_data["sso"]["issuer"] = "https://login.example.com"
    client = make_client(environ={**env, "APP_ENV": "production",
                                  "APP_BASE_URL": "https://app.example.com", **PRODUCTION_ENV})
    assert client.app.state.sessions.secure is True
    assert client.get("/healthz").headers["strict-transport-security"] == "max-age=31536000"


def test_login_server_down_is_a_clear_error_and_not_a_readiness_problem(make_client, manifest_data):
    manifest_data["sso"]["issuer"] = "http://127.0.0.1:9"  # nothing listens there
    client = make_client()
    assert client.get("/healthz").status_code == 200
    r = client.get("/auth/login", headers=HTML)
    assert r.status_code == 503 and "could not be reached" in r.text


def test_dev_login_server_lets_you_pick_a_persona():
    import re
    from html import unescape

    from tests.fakes import MockOIDC

    personas = [{"sub": "dev-a", "name": "A <admin>", "groups": ["g"]}, {"sub": "dev-b", "name": "B", "groups": []}]
    with MockOIDC(client_id="local-dev", personas=personas) as idp:
        params = {"response_type": "code", "client_id": "local-dev", "code_challenge": "x" * 43,
                  "code_challenge_method": "S256", "scope": "openid", "state": "s", "nonce": "n",
                  "redirect_uri": "http://127.0.0.1:8080/auth/callback"}
        page = httpx2.get(idp.url + "/authorize", params=params)
        assert page.status_code == 200 and "A &lt;admin&gt;" in page.text
        links = [unescape(u) for u in re.findall(r'href="([^"]+)"', page.text)]
        assert len(links) == 2
        picked = httpx2.get(links[1], follow_redirects=False)
        assert picked.status_code == 302
        assert picked.headers["location"].startswith("http://127.0.0.1:8080/auth/callback?code=")


def _session(sid: str, sub: str, expires_at: float):
    from app.auth import Session, User

    return Session(id=sid, created_at=0, expires_at=expires_at, csrf="c", user=User(sub, sub, "", ()),
                   groups_checked_at=0)


def test_the_store_keeps_at_most_per_user_sessions_per_person():
    store = MemorySessionStore(max_entries=100, per_user=3)
    store.set(_session("other", "u-2", time.time() + 60))
    for i in range(5):
        store.set(_session(f"s{i}", "u-1", time.time() + 60))
    assert len(store) == 4
    assert store.get("s1") is None and store.get("s2") is not None
    assert store.get("other") is not None, "another person's session is untouched"


def test_past_max_entries_expired_sessions_go_first_then_the_oldest():
    now = [1_000_000.0]
    store = MemorySessionStore(max_entries=3, clock=lambda: now[0])
    store.set(_session("old", "a", now[0] + 10))
    store.set(_session("expiring", "b", now[0] + 1))
    store.set(_session("live", "c", now[0] + 1000))
    now[0] += 5
    store.set(_session("new", "d", now[0] + 1000))
    assert len(store) == 3
    assert store.get("expiring") is None
    assert store.get("old") is not None, "the expired one went, not the oldest live one"
    store.set(_session("newer", "e", now[0] + 1000))
    assert store.get("old") is None, "then the oldest"
