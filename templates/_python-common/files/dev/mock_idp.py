"""A fake company login server for trying the app on your own computer.

    uv run python dev/mock_idp.py        (in one terminal)

It shows a page where you pick a pretend person. Never use it for anything
but local development: the app only accepts a plain-http login server when
APP_ENV is dev or test.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.config import LOCAL_ENVS, load_manifest  # noqa: E402
from tests.fakes import MockOIDC  # noqa: E402


def main() -> int:
    if (os.environ.get("APP_ENV") or "").lower() not in LOCAL_ENVS:
        print("The fake login server only runs with APP_ENV=dev (see .env).", file=sys.stderr)
        return 1
    manifest = load_manifest()
    groups = list(manifest.sso.groups)
    plain = [g for g in groups if "approv" not in g.lower()] or groups[:1]
    personas = [
        {"sub": "dev-alex", "name": "Alex Example (all groups)", "email": "alex@example.com", "groups": groups},
        {"sub": "dev-sam", "name": "Sam Sample (no approver groups)", "email": "sam@example.com", "groups": plain},
        {"sub": "dev-olly", "name": "Olly Outsider (no groups)", "email": "olly@example.com", "groups": []},
    ]
    issuer = urlsplit(os.environ.get("OIDC_ISSUER") or "http://127.0.0.1:9400")
    provider = MockOIDC(client_id=os.environ.get("OIDC_CLIENT_ID") or manifest.name,
                        port=issuer.port or 9400, personas=personas)
    print(f"Fake login server for {manifest.name} at {provider.issuer} (Ctrl+C to stop)")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    provider.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
