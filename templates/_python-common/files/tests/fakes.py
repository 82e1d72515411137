"""Small local stand-ins for the services the app talks to, on 127.0.0.1 only.

- MockOIDC: discovery, JWKS, authorize, token, userinfo (what the provider knows about the
  person *now*) and end_session endpoints; checks PKCE (S256) and signs ID tokens (RS256) with
  joserfc. Tests can make it sign with a key that is not in its JWKS, or forge claims.
- FakeVault: the KV version 2 read endpoint.
- FakeSecretsManager: the GetSecretValue call of AWS Secrets Manager.
- Recorder: records every request and answers with a fixed status (an OTLP
  collector, a webhook downstream, ...).
- BlackHole: accepts connections and never answers.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from joserfc import jwt
from joserfc.jwk import RSAKey


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    thread: int = 0

    def form(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.body.decode()).items()}

    def json(self) -> Any:
        return json.loads(self.body or b"null")


@dataclass
class Response:
    status: int = 200
    body: bytes | str | dict | list = b""
    headers: dict[str, str] = field(default_factory=dict)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _serve(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        req = Request(
            method=self.command,
            path=parts.path,
            query={k: v[0] for k, v in parse_qs(parts.query).items()},
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
            thread=threading.get_ident(),
        )
        owner: LocalServer = self.server.owner  # type: ignore[attr-defined]
        owner.requests.append(req)
        try:
            resp = owner.handle(req)
        except Exception as exc:  # pragma: no cover - shows up as a 500 in the test
            resp = Response(500, {"error": repr(exc)})
        payload = resp.body
        headers = dict(resp.headers)
        if isinstance(payload, (dict, list)):
            payload = json.dumps(payload).encode()
            headers.setdefault("content-type", "application/json")
        elif isinstance(payload, str):
            payload = payload.encode()
        self.send_response(resp.status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = _serve

    def log_message(self, *args: Any) -> None:  # keep test output quiet
        pass


class LocalServer:
    def __init__(self, port: int = 0) -> None:
        self.requests: list[Request] = []
        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.owner = self  # type: ignore[attr-defined]
        self.port = self._httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()

    def handle(self, req: Request) -> Response:
        return Response(404, {"error": "not found"})

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self):
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class Recorder(LocalServer):
    def __init__(self, status: int = 200, body: bytes | str | dict = b"",
                 headers: dict[str, str] | None = None, port: int = 0) -> None:
        super().__init__(port)
        self.status = status
        self.body = body
        self.headers = headers or {}

    def handle(self, req: Request) -> Response:
        return Response(self.status, self.body, self.headers)


class BlackHole:
    """Accepts TCP connections (via the listen backlog) and never answers."""

    def __init__(self) -> None:
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self.port = self._sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        self._sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class MockOIDC(LocalServer):
    """A local OpenID Connect provider that signs in `next_user` without asking."""

    def __init__(self, client_id: str, client_secret: str | None = None, port: int = 0,
                 personas: list[dict[str, Any]] | None = None, end_session: bool = True) -> None:
        super().__init__(port)
        self.issuer = self.url
        self.personas = personas  # if set, /authorize first shows a page to pick one (dev/mock_idp.py)
        self.client_id = client_id
        self.client_secret = client_secret
        self.key = RSAKey.generate_key(2048, parameters={"kid": "test-key", "use": "sig"})
        self.next_user: dict[str, Any] = {"sub": "alice", "name": "Alice", "groups": []}
        self.codes: dict[str, dict[str, Any]] = {}
        self.id_token_overrides: dict[str, Any] = {}
        self.signing_key: RSAKey | None = None  # set to sign with a key not in the JWKS
        self.corrupt_challenge = False
        self.authorize_requests: list[dict[str, str]] = []
        self.token_requests: list[Request] = []
        self.userinfo_requests: list[str] = []
        self.end_session_requests: list[dict[str, str]] = []
        self.end_session = end_session
        self.groups_in_id_token = True
        self.access_token_ttl = 3600
        self.directory: dict[str, dict[str, Any]] = {}  # sub -> the person as the provider knows them now
        self.access_tokens: dict[str, str] = {}
        for p in personas or []:
            self.directory[p["sub"]] = dict(p)

    def set_groups(self, sub: str, groups: list[str]) -> None:
        """Change a person's groups at the provider (what /userinfo answers from now on)."""
        if sub in self.directory:
            self.directory[sub] = {**self.directory[sub], "groups": list(groups)}

    def reset(self) -> None:
        self.codes.clear()
        self.id_token_overrides = {}
        self.signing_key = None
        self.corrupt_challenge = False
        self.authorize_requests.clear()
        self.token_requests.clear()
        self.userinfo_requests.clear()
        self.end_session_requests.clear()
        self.client_secret = None
        self.end_session = True
        self.groups_in_id_token = True

    def handle(self, req: Request) -> Response:
        if req.path == "/.well-known/openid-configuration":
            return Response(200, {
                "issuer": self.issuer,
                "authorization_endpoint": f"{self.url}/authorize",
                "token_endpoint": f"{self.url}/token",
                "jwks_uri": f"{self.url}/jwks",
                "userinfo_endpoint": f"{self.url}/userinfo",
                **({"end_session_endpoint": f"{self.url}/end_session"} if self.end_session else {}),
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "code_challenge_methods_supported": ["S256"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
            })
        if req.path == "/jwks":
            return Response(200, {"keys": [self.key.as_dict(private=False)]})
        if req.path == "/authorize":
            return self._authorize(req.query)
        if req.path == "/token" and req.method == "POST":
            self.token_requests.append(req)
            return self._token(req)
        if req.path == "/userinfo":
            auth = req.headers.get("authorization", "")
            sub = self.access_tokens.get(auth[7:]) if auth.startswith("Bearer ") else None
            self.userinfo_requests.append(sub or "(invalid token)")
            who = self.directory.get(sub or "")
            if who is None:
                return Response(401, {"error": "invalid_token"})
            return Response(200, {"sub": who["sub"], "name": who.get("name"), "email": who.get("email"),
                                  "groups": who.get("groups") or []})
        if req.path == "/end_session":
            self.end_session_requests.append(req.query)
            back = req.query.get("post_logout_redirect_uri")
            if back and back.startswith(("http://127.0.0.1", "http://localhost", "http://testserver")):
                return Response(302, b"", {"location": back})
            return Response(200, "<!doctype html><p>Signed out of the local fake login.</p>",
                            {"content-type": "text/html; charset=utf-8"})
        return super().handle(req)

    def _authorize(self, q: dict[str, str]) -> Response:
        self.authorize_requests.append(q)
        problems = []
        if q.get("response_type") != "code":
            problems.append("response_type must be code")
        if q.get("client_id") != self.client_id:
            problems.append("unknown client_id")
        if q.get("code_challenge_method") != "S256" or not q.get("code_challenge"):
            problems.append("PKCE with S256 is required")
        if "openid" not in q.get("scope", "").split():
            problems.append("scope must include openid")
        if not q.get("state") or not q.get("nonce") or not q.get("redirect_uri"):
            problems.append("state, nonce and redirect_uri are required")
        if problems:
            return Response(400, {"error": "invalid_request", "error_description": "; ".join(problems)})
        user = dict(self.next_user)
        self.directory[user["sub"]] = dict(user)
        if self.personas:
            choice = q.get("persona", "")
            if not choice.isdigit() or int(choice) >= len(self.personas):
                return self._persona_page(q)
            user = dict(self.personas[int(choice)])
        code = secrets.token_urlsafe(16)
        challenge = q["code_challenge"]
        if self.corrupt_challenge:
            challenge = _b64url(hashlib.sha256(b"something else").digest())
        self.codes[code] = {
            "redirect_uri": q["redirect_uri"], "challenge": challenge,
            "nonce": q["nonce"], "user": user,
        }
        location = q["redirect_uri"] + "?" + urlencode({"code": code, "state": q["state"]})
        return Response(302, b"", {"location": location})

    def _persona_page(self, q: dict[str, str]) -> Response:
        from html import escape

        links = []
        for i, p in enumerate(self.personas or []):
            url = f"{self.url}/authorize?" + urlencode({**q, "persona": str(i)})
            groups = ", ".join(p.get("groups") or []) or "no groups"
            links.append(f'<li><a href="{escape(url)}">{escape(p["name"])}</a> ({escape(groups)})</li>')
        page = ("<!doctype html><meta charset=utf-8><title>Fake login</title>"
                "<h1>Fake company login (local development only)</h1><p>Sign in as:</p><ul>"
                + "".join(links) + "</ul>")
        return Response(200, page, {"content-type": "text/html; charset=utf-8"})

    def _client_ok(self, req: Request, form: dict[str, str]) -> bool:
        auth = req.headers.get("authorization", "")
        if auth.startswith("Basic "):
            cid, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
        else:
            cid, secret = form.get("client_id", ""), form.get("client_secret", "")
        if cid != self.client_id:
            return False
        return self.client_secret is None or secret == self.client_secret

    def _token(self, req: Request) -> Response:
        form = req.form()
        if not self._client_ok(req, form):
            return Response(401, {"error": "invalid_client"})
        grant = self.codes.pop(form.get("code", ""), None)  # codes are single-use
        if form.get("grant_type") != "authorization_code" or grant is None:
            return Response(400, {"error": "invalid_grant"})
        if form.get("redirect_uri") != grant["redirect_uri"]:
            return Response(400, {"error": "invalid_grant", "error_description": "redirect_uri"})
        verifier = form.get("code_verifier", "")
        if _b64url(hashlib.sha256(verifier.encode()).digest()) != grant["challenge"]:
            return Response(400, {"error": "invalid_grant", "error_description": "PKCE verification failed"})
        now = int(time.time())
        who = self.directory.get(grant["user"]["sub"], grant["user"])
        person = {k: v for k, v in who.items() if k != "groups" or self.groups_in_id_token}
        claims = {"iss": self.issuer, "aud": self.client_id, "iat": now, "exp": now + 300,
                  "nonce": grant["nonce"], **person, **self.id_token_overrides}
        key = self.signing_key or self.key
        id_token = jwt.encode({"alg": "RS256", "kid": "test-key"}, claims, key)
        access_token = "at-" + secrets.token_urlsafe(16)
        self.access_tokens[access_token] = who["sub"]
        return Response(200, {"access_token": access_token, "token_type": "Bearer",
                              "expires_in": self.access_token_ttl, "id_token": id_token,
                              "scope": "openid profile email"})


class FakeVault(LocalServer):
    """GET /v1/<mount>/data/<path> of Vault's KV version 2 engine."""

    def __init__(self, token: str, secrets_by_path: dict[str, dict[str, str]]) -> None:
        super().__init__()
        self.token = token
        self.secrets_by_path = secrets_by_path  # "secret/apps/my-app" -> {"KEY": "value"}

    def handle(self, req: Request) -> Response:
        if req.headers.get("x-vault-token") != self.token:
            return Response(403, {"errors": ["permission denied"]})
        prefix = "/v1/"
        if req.method != "GET" or not req.path.startswith(prefix) or "/data/" not in req.path:
            return Response(404, {"errors": []})
        mount, _, path = req.path[len(prefix):].partition("/data/")
        data = self.secrets_by_path.get(f"{mount}/{path}")
        if data is None:
            return Response(404, {"errors": []})
        return Response(200, {
            "request_id": "r1", "lease_id": "", "renewable": False, "lease_duration": 0,
            "data": {"data": data, "metadata": {"version": 1, "destroyed": False, "deletion_time": ""}},
        })


class FakeSecretsManager(LocalServer):
    """The JSON protocol call secretsmanager.GetSecretValue, as boto3 sends it."""

    def __init__(self, secrets_by_id: dict[str, str]) -> None:
        super().__init__()
        self.secrets_by_id = secrets_by_id

    def handle(self, req: Request) -> Response:
        ctype = {"content-type": "application/x-amz-json-1.1"}
        if not req.headers.get("authorization", "").startswith("AWS4-HMAC-SHA256"):
            return Response(400, {"__type": "MissingAuthenticationTokenException"}, ctype)
        if req.headers.get("x-amz-target") != "secretsmanager.GetSecretValue":
            return Response(400, {"__type": "InvalidAction"}, ctype)
        secret_id = req.json().get("SecretId")
        if secret_id not in self.secrets_by_id:
            return Response(400, {"__type": "ResourceNotFoundException",
                                  "message": "Secrets Manager can't find the specified secret."}, ctype)
        return Response(200, {
            "ARN": f"arn:aws:secretsmanager:eu-west-1:123456789012:secret:{secret_id}",
            "Name": secret_id, "VersionId": "v1", "SecretString": self.secrets_by_id[secret_id],
            "VersionStages": ["AWSCURRENT"], "CreatedDate": 1700000000,
        }, ctype)
