"""Run the app: `python -m app` (what the container runs; `--reload` on your computer).

Listens on PORT (default 8080) on HOST (default 0.0.0.0 when deployed, 127.0.0.1 with
APP_ENV=dev or test), as the Node apps do (CONTRACT.md).
"""

from __future__ import annotations

import os
import sys

import uvicorn

from app.config import ConfigError, is_local_env


def main(argv: list[str]) -> int:
    try:
        port = int(os.environ.get("PORT") or 8080)
    except ValueError:
        print(f"PORT must be a whole number (got {os.environ.get('PORT')!r})", file=sys.stderr)
        return 1
    host = (os.environ.get("HOST") or "").strip() or ("127.0.0.1" if is_local_env(os.environ) else "0.0.0.0")
    try:
        uvicorn.run("app.main:create_app", factory=True, host=host, port=port, server_header=False,
                    reload="--reload" in argv)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
