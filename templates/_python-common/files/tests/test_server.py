"""The real server: uvicorn in a subprocess, the Dockerfile's health check, SIGTERM."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx2
import yaml

from tests.fakes import Recorder
from tests.test_telemetry import metric_names, otlp_env

PROJECT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def healthcheck_command() -> list[str]:
    dockerfile = (PROJECT / "Dockerfile").read_text()
    match = re.search(r"HEALTHCHECK[^\n]*\\\n\s*CMD (\[.*\])", dockerfile)
    assert match, "no HEALTHCHECK CMD in the Dockerfile"
    return json.loads(match.group(1))


def test_uvicorn_serves_health_checks_and_flushes_telemetry_on_sigterm(tmp_path, manifest_data, env):
    manifest_file = tmp_path / "app.yaml"
    manifest_file.write_text(yaml.safe_dump(manifest_data))
    port = free_port()
    with Recorder(status=200) as collector:
        environ = {**os.environ, **otlp_env(env, collector.url), "LEVEE_MANIFEST": str(manifest_file),
                   "UVICORN_PORT": str(port), "UVICORN_HOST": "127.0.0.1", "OTEL_SHUTDOWN_TIMEOUT_MS": "3000"}
        proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory"],
            cwd=PROJECT, env=environ, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )
        try:
            check = healthcheck_command()
            assert "curl" not in " ".join(check)
            check[0] = sys.executable  # `python` inside the image
            deadline = time.monotonic() + 20
            while True:
                healthy = subprocess.run(check, env=environ, capture_output=True).returncode == 0
                if healthy or time.monotonic() > deadline or proc.poll() is not None:
                    break
                time.sleep(0.2)
            assert healthy, "the Dockerfile's HEALTHCHECK never passed"
            r = httpx2.get(f"http://127.0.0.1:{port}/", headers={"accept": "text/html"})
            assert r.status_code == 303  # sign-in first
            assert not collector.requests
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=10)
        finally:
            if proc.poll() is None:
                proc.kill()
            output = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
        # uvicorn re-raises SIGTERM after a graceful shutdown, so -15 is a clean exit too.
        assert proc.returncode in (0, -signal.SIGTERM), output
        assert "http.server.request.duration" in metric_names(collector.requests), output


def test_dockerfile_follows_the_rules():
    text = (PROJECT / "Dockerfile").read_text()
    froms = re.findall(r"^FROM\s+(\S+)", text, re.M)
    assert len(froms) >= 2, "multi-stage build expected"
    base = re.search(r"^ARG PYTHON_IMAGE=(\S+)", text, re.M).group(1)
    assert re.fullmatch(r"python:3\.12\.\d+-slim(-\w+)?", base), base
    uv_image = [f for f in froms if "astral-sh/uv" in f][0]
    assert re.fullmatch(r"ghcr\.io/astral-sh/uv:\d+\.\d+\.\d+", uv_image), uv_image
    assert "uv sync --frozen --no-dev" in text
    users = re.findall(r"^USER\s+(\S+)", text, re.M)
    assert users and users[-1].split(":")[0] not in ("root", "0")
    assert "HEALTHCHECK" in text and "curl" not in text.split("HEALTHCHECK", 1)[1]
    ignored = (PROJECT / ".dockerignore").read_text().split()
    assert {".env", ".venv", ".git"} <= set(ignored)
