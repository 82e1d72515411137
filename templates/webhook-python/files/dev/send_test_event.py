"""Send one signed test event to the app running on your computer.

    uv run --env-file .env python dev/send_test_event.py [URL]

Signs {"event": "test", ...} with WEBHOOK_SIGNING_SECRET the way a real sender
must: HMAC-SHA256 over "<timestamp>.<raw body>", sent in X-Webhook-Signature
as sha256=<hex>, with the timestamp in X-Webhook-Timestamp.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx2  # noqa: E402

from app.kind import sign  # noqa: E402


def main() -> int:
    url = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8080/webhook"
    secret = os.environ.get("WEBHOOK_SIGNING_SECRET")
    if not secret:
        print("Set WEBHOOK_SIGNING_SECRET (run with: uv run --env-file .env ...)", file=sys.stderr)
        return 1
    body = json.dumps({"event": "test", "sent_at": int(time.time())}).encode()
    timestamp = str(int(time.time()))
    response = httpx2.post(url, content=body, headers={
        "content-type": "application/json",
        "x-webhook-timestamp": timestamp,
        "x-webhook-signature": sign(secret, timestamp, body),
    })
    print(response.status_code, response.text)
    return 0 if response.status_code < 400 else 1


if __name__ == "__main__":
    sys.exit(main())
