"""The app factory: `uvicorn app.main:create_app --factory`.

Shared by every levee Python app; what the app *does* lives in app/kind.py.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from app import auth, kind, secret_store
from app.config import ConfigError, Manifest, Settings, load_manifest
from app.telemetry import Telemetry
from app.web import SecurityHeadersMiddleware, render

log = logging.getLogger("app")

SESSION_SECRET = "SESSION_SECRET"
OIDC_CLIENT_SECRET = "OIDC_CLIENT_SECRET"


def _wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "")


def create_app(*, manifest: Manifest | None = None, environ: Mapping[str, str] | None = None,
               secrets: secret_store.SecretStore | None = None,
               telemetry: Telemetry | None = None) -> FastAPI:
    environ = os.environ if environ is None else environ
    logging.basicConfig(level=environ.get("LOG_LEVEL", "INFO").upper())
    manifest = manifest or load_manifest(environ=environ)
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
        session_key.value = session_secret
        for name in kind.REQUIRED_SECRETS:  # fail at start-up, not at the first request
            await store.get(name)
        client_secret = None
        if manifest.secret(OIDC_CLIENT_SECRET) is not None:  # confidential client
            client_secret = await store.get(OIDC_CLIENT_SECRET)
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

    app.add_middleware(auth.SignedCookieSessionMiddleware, key=session_key,
                       secure=not settings.is_local, max_age=settings.session_max_age)
    app.add_middleware(SecurityHeadersMiddleware, hsts=not settings.is_local)

    @app.exception_handler(auth.LoginRequired)
    async def _login_required(request: Request, exc: auth.LoginRequired):
        if request.method == "GET" and _wants_html(request):
            return RedirectResponse(auth.login_redirect(request), status_code=303)
        return JSONResponse({"detail": "Sign in first."}, status_code=401)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException):
        if _wants_html(request):
            return render(request, "error.html", status_code=exc.status_code,
                          status=exc.status_code, message=str(exc.detail))
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError):
        return JSONResponse({"detail": "Invalid request."}, status_code=422)

    @app.get("/healthz", include_in_schema=False)
    async def healthz():
        return {"status": "ok"}

    @app.get("/auth/logged-out", include_in_schema=False)
    async def signed_out(request: Request):
        return render(request, "signed_out.html")

    app.include_router(auth.router)
    app.mount("/static", StaticFiles(directory=os.path.join(os.path.dirname(__file__), "static")),
              name="static")
    kind.register(app)
    telemetry.instrument(app)
    return app
