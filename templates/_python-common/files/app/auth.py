"""Sign-in with the company identity provider (OIDC, authorization code + PKCE).

- The session cookie is signed (itsdangerous) and holds only who you are:
  user id, display name, e-mail, the app's groups you belong to, a CSRF token
  and, during a sign-in, the short-lived login state (state, nonce, PKCE
  verifier). It never holds an access, refresh or ID token: those are
  dropped right after sign-in.
- The cookie is Secure (`__Host-` prefix) everywhere except local
  development and tests (APP_ENV=development or test).
- The signing key is the secret SESSION_SECRET, read from the secret store.
- If app.yaml lists `sso.groups`, only members of at least one of them get in.
"""

from __future__ import annotations

import hmac
import json
import logging
import secrets
import time
from dataclasses import dataclass
from http.cookies import SimpleCookie
from typing import Annotated, Any
from urllib.parse import parse_qsl, quote, urlsplit

from authlib.integrations.starlette_client import OAuth, OAuthError
from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse
from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.config import Manifest, Settings

log = logging.getLogger(__name__)

# Only these keys may ever be written into the cookie (plus Authlib's `_state_*` login state).
SESSION_KEYS = frozenset({"uid", "name", "email", "groups", "csrf", "exp", "next"})
STATE_PREFIX = "_state_"
MAX_FORM_BYTES = 64 * 1024


class SessionKey:
    """Holds the cookie signing key; filled in at start-up from the secret store."""

    def __init__(self) -> None:
        self.value: str | None = None


class SignedCookieSessionMiddleware:
    def __init__(self, app: ASGIApp, *, key: SessionKey, secure: bool, max_age: int) -> None:
        self.app = app
        self.key = key
        self.secure = secure
        self.max_age = max_age
        self.cookie_name = "__Host-session" if secure else "session"

    def _serializer(self) -> URLSafeTimedSerializer:
        if not self.key.value:
            raise RuntimeError("session key not loaded")
        return URLSafeTimedSerializer(self.key.value, salt="levee-session")

    def _load(self, scope: Scope) -> dict[str, Any]:
        for name, value in scope.get("headers", ()):
            if name != b"cookie":
                continue
            cookie = SimpleCookie()
            try:
                cookie.load(value.decode("latin-1"))
            except Exception:  # a malformed cookie header is treated as no session
                continue
            morsel = cookie.get(self.cookie_name)
            if morsel is None:
                continue
            try:
                data = self._serializer().loads(morsel.value, max_age=self.max_age)
            except BadSignature:
                return {}
            if isinstance(data, dict) and float(data.get("exp", 0) or 0) >= time.time():
                return data
            if isinstance(data, dict) and "exp" not in data:
                return data  # login in progress (only `_state_*` keys)
            return {}
        return {}

    def _dump(self, session: dict[str, Any]) -> str:
        clean = {}
        for k, v in session.items():
            if k in SESSION_KEYS or k.startswith(STATE_PREFIX):
                clean[k] = v
            else:
                log.warning("Not storing session key %r: the session cookie only holds identity.", k)
        return self._serializer().dumps(clean)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        session = self._load(scope)
        before = json.dumps(session, sort_keys=True)
        scope["session"] = session

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                after = scope["session"]
                if json.dumps(after, sort_keys=True) != before:
                    headers = MutableHeaders(scope=message)
                    attrs = "; Path=/; HttpOnly; SameSite=Lax" + ("; Secure" if self.secure else "")
                    if after:
                        value = self._dump(after)
                        headers.append("Set-Cookie",
                                       f"{self.cookie_name}={value}; Max-Age={self.max_age}{attrs}")
                    else:
                        headers.append("Set-Cookie", f"{self.cookie_name}=; Max-Age=0{attrs}")
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


class LoginRequired(Exception):
    pass


def current_user(request: Request) -> User | None:
    session = request.scope.get("session") or {}
    if not session.get("uid"):
        return None
    return User(id=str(session["uid"]), name=str(session.get("name") or session["uid"]),
                email=str(session.get("email") or ""), groups=tuple(session.get("groups") or ()))


async def require_user(request: Request) -> User:
    """FastAPI dependency: the signed-in user, allowed by app.yaml's sso.groups."""
    user = current_user(request)
    if user is None:
        raise LoginRequired()
    allowed = request.app.state.manifest.sso.groups
    if allowed and not user.in_any(allowed):
        raise HTTPException(status_code=403, detail="You are not in a group allowed to use this app.")
    return user


# Use in a route to require a signed-in user:  async def page(user: CurrentUser): ...
CurrentUser = Annotated[User, Depends(require_user)]


def safe_next(value: str | None) -> str:
    """Only local paths: never redirect to another site after sign-in."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    if any(ord(ch) < 0x20 for ch in value) or value.startswith("/auth/"):
        return "/"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return "/"
    return value


def csrf_token(request: Request) -> str:
    session = request.scope["session"]
    if not session.get("csrf"):
        session["csrf"] = secrets.token_urlsafe(24)
    return session["csrf"]


async def read_form(request: Request) -> dict[str, str]:
    """Parse an urlencoded form body (small, size-capped; no multipart)."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "application/x-www-form-urlencoded":
        raise HTTPException(status_code=415, detail="Expected a form submission.")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise HTTPException(status_code=413, detail="Form too large.")
    return dict(parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True))


def check_csrf(request: Request, submitted: str | None) -> None:
    expected = (request.scope.get("session") or {}).get("csrf")
    submitted = submitted or request.headers.get("x-csrf-token")
    if not expected or not submitted or not hmac.compare_digest(str(expected), str(submitted)):
        raise HTTPException(status_code=403, detail="The form expired or came from another site. Reload and try again.")


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


@router.get("/auth/login", include_in_schema=False)
async def login(request: Request, next: str | None = None):
    client = request.app.state.oidc
    try:
        metadata = await client.load_server_metadata()
    except Exception as exc:  # network error, bad JSON, ...
        log.error("Cannot load the login server's configuration: %s", type(exc).__name__)
        raise HTTPException(status_code=502,
                            detail="The company login server cannot be reached. Try again later.") from None
    issuer = request.app.state.manifest.sso.issuer
    if str(metadata.get("issuer", "")).rstrip("/") != issuer:
        log.error("Identity provider says its issuer is %r, app.yaml says %r", metadata.get("issuer"), issuer)
        raise HTTPException(status_code=502, detail="The identity provider's issuer does not match app.yaml.")
    session = request.scope["session"]
    for key in [k for k in session if k.startswith(STATE_PREFIX)]:
        del session[key]  # only the latest sign-in attempt counts; keeps the cookie small
    session["next"] = safe_next(next)
    return await client.authorize_redirect(request, _redirect_uri(request))


@router.get("/auth/callback", name="auth_callback", include_in_schema=False)
async def auth_callback(request: Request):
    client = request.app.state.oidc
    settings: Settings = request.app.state.settings
    manifest: Manifest = request.app.state.manifest
    try:
        token = await client.authorize_access_token(request)
    except OAuthError as exc:
        log.warning("Sign-in failed: %s", exc.error)
        raise HTTPException(status_code=400, detail="Sign-in failed. Please try again.") from None
    except Exception as exc:  # e.g. a bad ID token signature, wrong audience, expired token
        log.warning("Sign-in failed: %s", type(exc).__name__)
        raise HTTPException(status_code=400, detail="Sign-in failed. Please try again.") from None
    claims = token.get("userinfo") or {}
    if not claims.get("sub"):
        raise HTTPException(status_code=400, detail="Sign-in failed: no user id in the ID token.")
    raw_groups = claims.get(settings.groups_claim) or []
    if isinstance(raw_groups, str):
        raw_groups = [raw_groups]
    allowed = manifest.sso.groups
    groups = [g for g in raw_groups if g in allowed]  # keep the cookie small: only groups this app uses
    session = request.scope["session"]
    next_url = safe_next(session.get("next"))
    if allowed and not groups:
        session.clear()
        raise HTTPException(
            status_code=403,
            detail="You are signed in, but not in a group allowed to use this app: " + ", ".join(allowed),
        )
    session.clear()  # drops the login state; the tokens are never stored
    session.update({
        "uid": str(claims["sub"]),
        "name": str(claims.get("name") or claims.get("preferred_username") or claims["sub"]),
        "email": str(claims.get("email") or ""),
        "groups": groups,
        "csrf": secrets.token_urlsafe(24),
        "exp": int(time.time()) + settings.session_max_age,
    })
    return RedirectResponse(next_url, status_code=303)


@router.post("/auth/logout", include_in_schema=False)
async def logout(request: Request):
    form = await read_form(request)
    check_csrf(request, form.get("csrf_token"))
    request.scope["session"].clear()
    return RedirectResponse("/auth/logged-out", status_code=303)


def login_redirect(request: Request) -> str:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return f"/auth/login?next={quote(target, safe='')}"
