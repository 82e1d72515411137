"""Sign-in with the company identity provider (OIDC, authorization code + PKCE).

See CONTRACT.md, "Sign-in". In short, the same as the Node apps:

- `<app>.login` holds a sign-in in progress (Authlib's state, nonce and PKCE verifier, and where
  to go afterwards) for 10 minutes, sealed (AES-GCM) with a key derived from SESSION_SECRET.
  Nothing is kept on the server for it, so anonymous visitors cost no memory.
- `<app>.sid` is the signed, opaque id of a server-side session, created only after a successful
  sign-in. Sign-out deletes it on the server, so a copied cookie stops working. The provider's
  access and ID tokens stay on the server (never in a cookie): to re-read the groups every
  GROUPS_REFRESH_MINUTES (at the userinfo endpoint) and to sign out at the provider.
- The ID token's signature (JWKS), issuer, audience, expiry and nonce are verified by Authlib.
- Outside local development both cookies are `__Host-` prefixed, Secure, HttpOnly, SameSite=Lax.
- If app.yaml lists `sso.groups`, only members of at least one of them get in.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from http.cookies import SimpleCookie
from typing import Annotated, Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

from authlib.integrations.starlette_client import OAuth
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.config import Manifest, Settings

log = logging.getLogger(__name__)

LOGIN_TTL_SECONDS = 10 * 60
MAX_LOGIN_COOKIE = 4000  # Authlib's state (with the authorization URL) sealed; browsers keep 4 KiB
MAX_FORM_BYTES = 100 * 1024
STATE_PREFIX = "_state_"


def _derive(secret: str, info: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"levee-session", info=info.encode()).derive(
        secret.encode())


class SessionKey:
    """Holds the keys derived from SESSION_SECRET; filled in at start-up from the secret store."""

    def __init__(self) -> None:
        self.sign: bytes | None = None
        self.seal: bytes | None = None

    def load(self, secret: str) -> None:
        self.sign = _derive(secret, "session-id")
        self.seal = _derive(secret, "login-state")


def cookie_names(app_name: str, secure: bool) -> tuple[str, str]:
    """(session cookie, login cookie)."""
    prefix = "__Host-" if secure else ""
    return f"{prefix}{app_name}.sid", f"{prefix}{app_name}.login"


def _cookie(name: str, value: str, max_age: int, secure: bool) -> str:
    return f"{name}={value}; Max-Age={max_age}; Path=/; HttpOnly; SameSite=Lax" + ("; Secure" if secure else "")


def read_cookie(scope: Scope, name: str) -> str | None:
    for header, value in scope.get("headers", ()):
        if header != b"cookie":
            continue
        jar = SimpleCookie()
        try:
            jar.load(value.decode("latin-1"))
        except Exception:  # a malformed cookie header is treated as no cookie
            continue
        if name in jar:
            return jar[name].value
    return None


class LoginStateMiddleware:
    """`request.session` for the sign-in in progress only, kept in the sealed `<app>.login` cookie."""

    def __init__(self, app: ASGIApp, *, key: SessionKey, app_name: str, secure: bool,
                 clock: Callable[[], float] = time.time) -> None:
        self.app = app
        self.key = key
        self.secure = secure
        self.clock = clock
        self.cookie_name = cookie_names(app_name, secure)[1]

    def _open(self, raw: str | None) -> dict[str, Any]:
        if not raw or len(raw) > MAX_LOGIN_COOKIE or self.key.seal is None:
            return {}
        try:
            sealed = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
            data = json.loads(AESGCM(self.key.seal).decrypt(sealed[:12], sealed[12:], None))
        except Exception:  # tampered, truncated or sealed with another key
            return {}
        if not isinstance(data, dict) or not isinstance(data.get("exp"), (int, float)) or data["exp"] <= self.clock():
            return {}
        data.pop("exp")
        return data

    def _seal(self, data: dict[str, Any]) -> str:
        clean = {k: v for k, v in data.items() if k == "next" or k.startswith(STATE_PREFIX)}
        clean["exp"] = self.clock() + LOGIN_TTL_SECONDS
        nonce = os.urandom(12)
        sealed = nonce + AESGCM(self.key.seal).encrypt(nonce, json.dumps(clean).encode(), None)
        return base64.urlsafe_b64encode(sealed).rstrip(b"=").decode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        session = self._open(read_cookie(scope, self.cookie_name))
        before = json.dumps(session, sort_keys=True)
        scope["session"] = session

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                after = scope["session"]
                if json.dumps(after, sort_keys=True) != before:
                    headers = MutableHeaders(scope=message)
                    if after:
                        headers.append("set-cookie", _cookie(self.cookie_name, self._seal(after),
                                                             LOGIN_TTL_SECONDS, self.secure))
                    else:
                        headers.append("set-cookie", _cookie(self.cookie_name, "", 0, self.secure))
            await send(message)

        await self.app(scope, receive, send_wrapper)


@dataclass(frozen=True)
class User:
    id: str
    name: str
    email: str
    groups: tuple[str, ...]

    def in_any(self, groups: tuple[str, ...] | list[str]) -> bool:
        return bool(set(self.groups) & set(groups))


@dataclass
class Session:
    id: str
    created_at: float
    expires_at: float
    csrf: str
    user: User
    groups_checked_at: float
    # Server-side only, never in a cookie.
    access_token: str | None = None
    access_token_expires_at: float | None = None
    id_token: str | None = None


class MemorySessionStore:
    """Sessions in memory, bounded: only signed-in people have one, at most `per_user` each
    (their oldest goes first), and past `max_entries` expired ones go first, then the oldest."""

    def __init__(self, max_entries: int = 10_000, per_user: int = 20,
                 clock: Callable[[], float] = time.time) -> None:
        self.max_entries = max_entries
        self.per_user = per_user
        self.clock = clock
        self._entries: dict[str, Session] = {}

    def get(self, sid: str) -> Session | None:
        s = self._entries.get(sid)
        if s is None:
            return None
        if s.expires_at <= self.clock():
            del self._entries[sid]
            return None
        return s

    def set(self, session: Session) -> None:
        self._entries.pop(session.id, None)
        self._entries[session.id] = session
        mine = [s for s in self._entries.values() if s.user.id == session.user.id]
        for s in mine[: max(0, len(mine) - self.per_user)]:
            del self._entries[s.id]
        if len(self._entries) > self.max_entries:
            now = self.clock()
            for sid in [k for k, s in self._entries.items() if s.expires_at <= now]:
                del self._entries[sid]
            while len(self._entries) > self.max_entries:
                del self._entries[next(iter(self._entries))]

    def delete(self, sid: str) -> None:
        self._entries.pop(sid, None)

    def __len__(self) -> int:
        return len(self._entries)


class Sessions:
    """The server-side sessions and their signed `<app>.sid` cookie."""

    def __init__(self, *, key: SessionKey, app_name: str, secure: bool, ttl: int,
                 store: MemorySessionStore | None = None, clock: Callable[[], float] = time.time) -> None:
        self.key = key
        self.secure = secure
        self.ttl = ttl
        self.clock = clock
        self.store = store if store is not None else MemorySessionStore(clock=clock)
        self.cookie_name = cookie_names(app_name, secure)[0]

    def _sign(self, sid: str) -> str:
        assert self.key.sign is not None, "session key not loaded"
        mac = hmac.new(self.key.sign, sid.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()

    def load(self, request: Request) -> Session | None:
        if "levee_session" in request.scope:
            return request.scope["levee_session"]
        raw = request.cookies.get(self.cookie_name) or ""
        sid, _, mac = raw.rpartition(".")
        session = None
        if sid and self.key.sign is not None and hmac.compare_digest(mac.encode(), self._sign(sid).encode()):
            session = self.store.get(sid)
        request.scope["levee_session"] = session
        return session

    def create(self, request: Request, response: Response, **data: Any) -> Session:
        now = self.clock()
        session = Session(id=secrets.token_urlsafe(32), created_at=now, expires_at=now + self.ttl,
                          csrf=secrets.token_urlsafe(32), groups_checked_at=now, **data)
        self.store.set(session)
        response.headers.append("set-cookie", _cookie(self.cookie_name, f"{session.id}.{self._sign(session.id)}",
                                                      self.ttl, self.secure))
        request.scope["levee_session"] = session
        return session

    def destroy(self, request: Request, response: Response) -> None:
        session = self.load(request)
        if session is not None:
            self.store.delete(session.id)
        request.scope["levee_session"] = None
        response.headers.append("set-cookie", _cookie(self.cookie_name, "", 0, self.secure))


class LoginRequired(Exception):
    """No (fresh) session: browsers are sent to sign in, API callers get 401."""


class NotAllowed(Exception):
    """Signed in, but not in a group app.yaml allows."""

    def __init__(self, user: User) -> None:
        self.user = user


def wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "")


def current_user(request: Request) -> User | None:
    session = request.scope.get("levee_session")
    return session.user if session is not None else None


def csrf_token(request: Request) -> str:
    session = request.scope.get("levee_session")
    return session.csrf if session is not None else ""


def _groups(value: Any) -> list[str] | None:
    if isinstance(value, list):
        return [g for g in value if isinstance(g, str)]
    if isinstance(value, str):
        return [g for g in value.replace(",", " ").split() if g]
    return None


def app_groups(manifest: Manifest, groups: list[str]) -> tuple[str, ...]:
    """Only the groups this app uses are kept (all of them when app.yaml lists none)."""
    allowed = manifest.sso.groups
    return tuple(groups) if not allowed else tuple(g for g in groups if g in allowed)


def _allowed(manifest: Manifest, user: User) -> bool:
    return not manifest.sso.groups or bool(user.groups)


def _token_expired(session: Session, now: float) -> bool:
    return session.access_token_expires_at is not None and session.access_token_expires_at <= now


async def fresh_session(request: Request) -> Session | None:
    """The session, with groups no older than GROUPS_REFRESH_MINUTES: past that they are read again
    at the userinfo endpoint; if that is impossible the session ends (the person signs in again)."""
    sessions: Sessions = request.app.state.sessions
    session = sessions.load(request)
    if session is None:
        return None
    settings: Settings = request.app.state.settings
    now = sessions.clock()
    if now - session.groups_checked_at < settings.groups_refresh_seconds:
        return session
    try:
        if not session.access_token or _token_expired(session, now):
            raise RuntimeError("access token expired")
        client = request.app.state.oidc
        metadata = await client.load_server_metadata()
        if not metadata.get("userinfo_endpoint"):
            raise RuntimeError("no userinfo endpoint")
        info = await client.userinfo(token={"access_token": session.access_token, "token_type": "Bearer"})
        if str(info.get("sub")) != session.user.id:
            raise RuntimeError("userinfo is about someone else")
        groups = _groups(info.get(settings.groups_claim))
        if groups is None:
            raise RuntimeError(f"userinfo has no {settings.groups_claim} claim")
    except Exception as exc:  # network error, 401 from the provider, ...
        log.info("Groups of %s could not be re-read (%s); the session ends.", session.user.id, exc)
        sessions.store.delete(session.id)
        request.scope["levee_session"] = None
        request.scope["levee_clear_session"] = True
        return None
    session.user = replace(session.user, groups=app_groups(request.app.state.manifest, groups))
    session.groups_checked_at = now
    sessions.store.set(session)
    return session


async def require_user(request: Request) -> User:
    """FastAPI dependency: the signed-in user, allowed by app.yaml's sso.groups."""
    session = await fresh_session(request)
    if session is None:
        raise LoginRequired()
    if not _allowed(request.app.state.manifest, session.user):
        raise NotAllowed(session.user)
    return session.user


# Use in a route to require a signed-in user:  async def page(user: CurrentUser): ...
CurrentUser = Annotated[User, Depends(require_user)]


def safe_next(value: str | None) -> str:
    """Only local paths: never redirect to another site after sign-in."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value) or value.startswith("/auth/"):
        return "/"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return "/"
    return value


async def read_form(request: Request) -> dict[str, str]:
    """Parse an urlencoded form body (size-capped; no multipart)."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "application/x-www-form-urlencoded":
        raise HTTPException(status_code=415, detail="Expected a form submission.")
    body = await read_body(request)
    return dict(parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True))


async def read_body(request: Request, limit: int = MAX_FORM_BYTES) -> bytes:
    """The request body, refusing (413) anything over `limit` bytes without reading it all."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise HTTPException(status_code=413, detail=f"The request is larger than {limit} bytes.")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise HTTPException(status_code=413, detail=f"The request is larger than {limit} bytes.")
    return body


async def read_json(request: Request) -> Any:
    try:
        return json.loads(await read_body(request))
    except ValueError:
        raise HTTPException(status_code=400, detail="Invalid JSON.") from None


def check_csrf(request: Request, submitted: str | None) -> None:
    expected = csrf_token(request)
    submitted = submitted or request.headers.get("x-csrf-token")
    if not expected or not submitted or not hmac.compare_digest(str(expected), str(submitted)):
        raise HTTPException(status_code=403, detail=(
            "This request did not come from a page of this app (missing or wrong CSRF token). "
            "Reload the page and try again."))


def build_oidc_client(manifest: Manifest, settings: Settings, client_secret: str | None):
    oauth = OAuth()
    client_kwargs: dict[str, Any] = {
        "scope": " ".join(manifest.sso.scopes),
        "code_challenge_method": "S256",
        "timeout": 10,
    }
    if client_secret is None:
        client_kwargs["token_endpoint_auth_method"] = "none"  # public client, PKCE only
    else:
        client_kwargs["token_endpoint_auth_method"] = settings.client_auth_method
    oauth.register(
        name="oidc",
        client_id=settings.oidc_client_id,
        client_secret=client_secret,
        server_metadata_url=f"{manifest.sso.issuer}/.well-known/openid-configuration",
        client_kwargs=client_kwargs,
    )
    return oauth.oidc


router = APIRouter()


def _redirect_uri(request: Request) -> str:
    base = request.app.state.settings.base_url
    if base:
        return f"{base}/auth/callback"
    return str(request.url_for("auth_callback"))


def problem(request: Request, status: int, message: str) -> Response:
    """An error answer: an HTML page for browsers, {"error": message} otherwise."""
    if wants_html(request):
        from app.web import render  # noqa: PLC0415  (app.web imports this module)

        return render(request, "error.html", status_code=status, status=status, message=message)
    return JSONResponse({"error": message}, status_code=status)


def not_allowed_message(manifest: Manifest, user: User) -> str:
    return (f"You are signed in as {user.name}, but this app is only for members of: "
            f"{', '.join(manifest.sso.groups)}. Ask the app owner to add you to one of these groups.")


@router.get("/auth/login", include_in_schema=False)
async def login(request: Request, next: str | None = None):
    target = safe_next(next)
    if await fresh_session(request) is not None:
        return RedirectResponse(target, status_code=303)
    client = request.app.state.oidc
    try:
        await client.load_server_metadata()
    except Exception as exc:  # network error, bad JSON, ...
        log.error("Cannot load the login provider's configuration: %s", type(exc).__name__)
        return problem(request, 503,
                       "The company login service could not be reached. Please try again in a minute.")
    session = request.scope["session"]
    session.clear()  # only the latest sign-in attempt counts
    session["next"] = target
    redirect = await client.authorize_redirect(request, _redirect_uri(request))
    return RedirectResponse(redirect.headers["location"], status_code=303)


@router.get("/auth/callback", name="auth_callback", include_in_schema=False)
async def auth_callback(request: Request):
    client = request.app.state.oidc
    settings: Settings = request.app.state.settings
    manifest: Manifest = request.app.state.manifest
    sessions: Sessions = request.app.state.sessions
    login_state = request.scope["session"]
    if not any(k.startswith(STATE_PREFIX) for k in login_state):
        return problem(request, 400,
                       "Your sign-in took too long or was started in another browser. Please try again.")
    next_url = safe_next(login_state.get("next"))
    try:
        # Verifies state, PKCE, and the ID token: signature (JWKS), iss, aud, exp, nonce.
        token = await client.authorize_access_token(request)
        claims = dict(token.get("userinfo") or {})
        if not claims.get("sub"):
            raise ValueError("no sub in the ID token")
        groups = _groups(claims.get(settings.groups_claim))
        info: dict[str, Any] = {}
        if groups is None and (await client.load_server_metadata()).get("userinfo_endpoint"):
            info = dict(await client.userinfo(token=token))
            if str(info.get("sub")) != str(claims["sub"]):
                raise ValueError("userinfo is about someone else")
            groups = _groups(info.get(settings.groups_claim))
    except Exception as exc:  # OAuthError, a bad signature, wrong audience, expired token, ...
        log.warning("Sign-in failed: %s: %s", type(exc).__name__, exc)
        login_state.clear()
        return problem(request, 400, "The sign-in could not be completed. Please try again.")
    login_state.clear()

    def pick(key: str) -> str | None:
        value = claims.get(key) or info.get(key)
        return str(value) if value else None

    user = User(id=str(claims["sub"]),
                name=pick("name") or pick("preferred_username") or pick("email") or str(claims["sub"]),
                email=pick("email") or "",
                groups=app_groups(manifest, groups or []))
    now = sessions.clock()
    if not _allowed(manifest, user):
        log.info("Sign-in refused: %s is not in sso.groups", user.id)
        response = problem(request, 403, not_allowed_message(manifest, user))
        sessions.destroy(request, response)
        return response
    response = RedirectResponse(next_url, status_code=303)
    sessions.destroy(request, response)
    expires_in = token.get("expires_in")
    sessions.create(request, response, user=user, access_token=token.get("access_token"),
                    access_token_expires_at=now + float(expires_in) if expires_in else None,
                    id_token=token.get("id_token"))
    log.info("User %s signed in", user.id)
    return response


@router.post("/auth/logout", include_in_schema=False)
async def logout(request: Request):
    sessions: Sessions = request.app.state.sessions
    session = sessions.load(request)
    if session is None:
        return RedirectResponse("/auth/logged-out", status_code=303)
    form = await read_form(request)
    check_csrf(request, form.get("csrf_token"))
    target = "/auth/logged-out"
    try:  # end the session at the login provider too, when it offers RP-initiated logout
        metadata = await request.app.state.oidc.load_server_metadata()
        endpoint = metadata.get("end_session_endpoint")
        if endpoint:
            base = request.app.state.settings.base_url or str(request.base_url).rstrip("/")
            params = {"client_id": request.app.state.settings.oidc_client_id,
                      "post_logout_redirect_uri": f"{base}/auth/logged-out"}
            if session.id_token:
                params["id_token_hint"] = session.id_token
            target = endpoint + ("&" if "?" in endpoint else "?") + urlencode(params)
    except Exception as exc:
        log.warning("Could not reach the login provider to sign out there: %s", type(exc).__name__)
    response = RedirectResponse(target, status_code=303)
    sessions.destroy(request, response)
    log.info("User %s signed out", session.user.id)
    return response


def login_redirect(request: Request) -> str:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return f"/auth/login?next={quote(safe_next(target), safe='')}"
