"""HTML pages (Jinja2 with autoescape: every value is escaped) and security headers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.auth import csrf_token, current_user

TEMPLATES_DIR = Path(__file__).parent / "templates"

_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
    autoescape=True,  # never turn this off: it is what keeps user data from becoming HTML
    undefined=jinja2.StrictUndefined,
)


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    manifest = request.app.state.manifest
    page = _env.get_template(template).render(
        app_name=manifest.name,
        classification=manifest.classification,
        data_access=manifest.data_access,
        user=current_user(request),
        csrf_token=csrf_token(request),
        **context,
    )
    return HTMLResponse(page, status_code=status_code)


SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
    "cache-control": "no-store",
}


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp, *, hsts: bool) -> None:
        self.app = app
        self.hsts = hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    if name not in headers:
                        headers[name] = value
                if self.hsts:
                    headers["strict-transport-security"] = "max-age=31536000"
            await send(message)

        await self.app(scope, receive, send_wrapper)


class DeadlineMiddleware:
    """LEVEE_MAX_RUNTIME_SECONDS (deploy/ sets it when app.yaml caps run time): a per-request deadline.
    A request still running then is answered 503 (if nothing was sent yet) and cancelled."""

    def __init__(self, app: ASGIApp, *, seconds: int) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.seconds <= 0:
            await self.app(scope, receive, send)
            return
        started = False

        async def send_wrapper(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        import anyio
        from fastapi.responses import JSONResponse

        with anyio.move_on_after(self.seconds) as scope_guard:
            await self.app(scope, receive, send_wrapper)
        if scope_guard.cancelled_caught and not started:
            message = f"The request took longer than {self.seconds} seconds."
            await JSONResponse({"error": message}, status_code=503)(scope, receive, send)
