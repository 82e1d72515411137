"""A pretend downstream API that prints what it receives (local development only).

    uv run python dev/fake_downstream.py     (listens on 127.0.0.1:9500)
"""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.fakes import Recorder, Request, Response  # noqa: E402


class PrintingDownstream(Recorder):
    def handle(self, req: Request) -> Response:
        bearer = req.headers.get("authorization", "").startswith("Bearer ")
        print(f"{req.method} {req.path} (bearer token: {'yes' if bearer else 'NO'})", flush=True)
        print(f"  {req.body.decode(errors='replace')[:500]}", flush=True)
        return Response(200, {"ok": True})


def main() -> int:
    server = PrintingDownstream(port=9500)
    print(f"Pretend downstream API at {server.url}/events (Ctrl+C to stop)", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    server.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
