"""The app factory: `uvicorn app.main:create_app --factory`.

Shared by every levee Python app; what the app *does* lives in app/kind.py.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from app import auth, kind, secret_store
from app.config import ConfigError, Manifest, Settings, load_manifest
from app.telemetry import Telemetry
from app.web import DeadlineMiddleware, SecurityHeadersMiddleware, render

log = logging.getLogger("app")

SESSION_SECRET = "SESSION_SECRET"
OIDC_CLIENT_SECRET = "OIDC_CLIENT_SECRET"


def create_app(*, manifest: Manifest | None = None, environ: Mapping[str, str] | None = None,
               secrets: secret_store.SecretStore | None = None,
               telemetry: Telemetry | None = None,
               clock: Callable[[], float] = time.time,
               session_store: auth.MemorySessionStore | None = None) -> FastAPI:
    environ = os.environ if environ is None else environ
    logging.basicConfig(level=environ.get("LOG_LEVEL", "INFO").upper())
    manifest = manifest or load_manifest(environ=environ)
    if manifest.kind != kind.KIND:
        raise ConfigError(f'app.yaml says kind "{manifest.kind}" but this is the code of a {kind.KIND} app')
    problems = kind.check_manifest(manifest, environ)
    if problems:
        raise ConfigError("This app cannot start:\n  - " + "\n  - ".join(problems))
    settings = Settings.from_env(manifest, environ)
    store = secrets or secret_store.SecretStore(manifest, settings, environ)
    store.validate(extra_names=(SESSION_SECRET, *kind.REQUIRED_SECRETS))
    secret_store.configure(store)
    telemetry = telemetry or Telemetry.from_env(manifest, environ)
    session_key = auth.SessionKey()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        session_secret = await store.get_or_generate(SESSION_SECRET)
        if len(session_secret) < 32:
            raise ConfigError(
                "SESSION_SECRET must be at least 32 characters long. Make one with: "
                "python -c \"import secrets; print(secrets.token_urlsafe(32))\""
            )
        session_key.load(session_secret)
        # Every declared secret is read now: an unreadable one stops the app before it is "ready".
        await store.preload()
        client_secret = None
        if manifest.secret(OIDC_CLIENT_SECRET) is not None:  # confidential client
            client_secret = await store.get(OIDC_CLIENT_SECRET)
        # No network here: discovery happens at the first sign-in (readiness never waits for it).
        app.state.oidc = auth.build_oidc_client(manifest, settings, client_secret)
        await kind.startup(app)
        log.info("%s started (kind=%s, tier=%s, env=%s)", manifest.name, manifest.kind,
                 manifest.tier, settings.app_env)
        try:
            yield
        finally:
            try:
                await kind.shutdown(app)
            finally:
                telemetry.shutdown()

    app = FastAPI(title=manifest.name, lifespan=lifespan,
                  docs_url=None, redoc_url=None, openapi_url=None)
    app.state.manifest = manifest
    app.state.settings = settings
    app.state.secrets = store
    app.state.telemetry = telemetry
    app.state.environ = environ
    app.state.clock = clock
    app.state.sessions = auth.Sessions(key=session_key, app_name=manifest.name, secure=not settings.is_local,
                                       ttl=settings.session_max_age, clock=clock,
                                       store=session_store if session_store is not None
                                       else auth.MemorySessionStore(clock=clock))

    app.add_middleware(auth.LoginStateMiddleware, key=session_key, app_name=manifest.name,
                       secure=not settings.is_local, clock=clock)
    app.add_middleware(DeadlineMiddleware, seconds=settings.max_runtime_seconds)
    app.add_middleware(SecurityHeadersMiddleware, hsts=not settings.is_local)

    @app.exception_handler(auth.LoginRequired)
    async def _login_required(request: Request, exc: auth.LoginRequired):
        if request.method in ("GET", "HEAD") and auth.wants_html(request):
            response = RedirectResponse(auth.login_redirect(request), status_code=303)
        else:
            response = JSONResponse({"error": "Sign in first."}, status_code=401)
        if request.scope.get("levee_clear_session"):
            app.state.sessions.destroy(request, response)
        return response

    @app.exception_handler(auth.NotAllowed)
    async def _not_allowed(request: Request, exc: auth.NotAllowed):
        return auth.problem(request, 403, auth.not_allowed_message(manifest, exc.user))

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException):
        if exc.status_code in (404, 405) and exc.detail in ("Not Found", "Method Not Allowed"):
            # No such route: like every page, it is behind sign-in (nothing is told to anonymous callers).
            if await auth.fresh_session(request) is None:
                return await _login_required(request, auth.LoginRequired())
            return auth.problem(request, 404, "There is no such page.")  # as the Node apps: 404 for both
        return auth.problem(request, exc.status_code, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError):
        return auth.problem(request, 422, "Invalid request.")

    # For container / orchestrator probes. `telemetry` tells the pipeline's telemetry check
    # whether OTLP export is on ("exporting").
    @app.get("/healthz", include_in_schema=False)
    async def healthz():
        return {"status": "ok", "telemetry": "exporting" if telemetry.enabled else "disabled"}

    @app.get("/auth/logged-out", include_in_schema=False)
    async def signed_out(request: Request):
        return render(request, "signed_out.html")

    app.include_router(auth.router)
    app.mount("/static", StaticFiles(directory=os.path.join(os.path.dirname(__file__), "static")),
              name="static")
    kind.register(app)
    telemetry.instrument(app)
    return app
