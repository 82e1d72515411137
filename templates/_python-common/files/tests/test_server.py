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
from tests.kind_fixtures import KIND_SECRETS, PRODUCTION_ENV
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


def dockerfile_command() -> list[str]:
    match = re.search(r"^CMD (\[.*\])", (PROJECT / "Dockerfile").read_text(), re.M)
    assert match, "no CMD in the Dockerfile"
    command = json.loads(match.group(1))
    assert command[0] == "python"
    return [sys.executable, *command[1:]]  # `python` inside the image


def test_the_server_starts_as_deploy_runs_it_and_flushes_telemetry_on_sigterm(tmp_path, manifest_data, env):
    """The Dockerfile's CMD with deploy/'s environment: APP_ENV=production, PORT, production tier,
    secrets as files in LEVEE_SECRETS_DIR, DATA_DIR, and a login provider that cannot be reached
    (readiness does not depend on it). Nothing is written outside DATA_DIR."""
    manifest_data["sso"]["issuer"] = "https://login.unreachable.invalid"
    manifest_data["lifecycle"]["tier"] = "production"
    manifest_data["secrets"] = [{"name": s["name"], "provider": "vault"} for s in manifest_data["secrets"]]
    (tmp_path / "app.yaml").write_text(yaml.safe_dump(manifest_data))
    secrets_dir = tmp_path / "secrets"
    data_dir = tmp_path / "data"
    secrets_dir.mkdir()
    data_dir.mkdir()
    for name in ["SESSION_SECRET", *KIND_SECRETS]:
        (secrets_dir / name).write_text(env[name] + "\n")
    port = free_port()
    with Recorder(status=200) as collector:
        environ = {k: v for k, v in os.environ.items() if not k.startswith(("APP_", "OTEL_", "VAULT_", "AWS_"))}
        environ.update({
            **otlp_env({}, collector.url), "APP_ENV": "production", "PORT": str(port), "HOST": "127.0.0.1",
            "LEVEE_MANIFEST": str(tmp_path / "app.yaml"), "LEVEE_SECRETS_DIR": str(secrets_dir),
            "DATA_DIR": str(data_dir), "APP_BASE_URL": "https://app.example.com",
            "OTEL_SHUTDOWN_TIMEOUT_MS": "3000", "PYTHONDONTWRITEBYTECODE": "1", **PRODUCTION_ENV,
        })
        proc = subprocess.Popen(dockerfile_command(), cwd=PROJECT, env=environ,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
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
            # What the pipeline's telemetry check reads: OTLP export is on.
            health = httpx2.get(f"http://127.0.0.1:{port}/healthz")
            assert health.json() == {"status": "ok", "telemetry": "exporting"}
            assert health.headers["strict-transport-security"] == "max-age=31536000", "HSTS when deployed"
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
    assert sorted(p.name for p in tmp_path.iterdir()) == ["app.yaml", "data", "secrets"]


def test_dockerfile_follows_the_rules():
    text = (PROJECT / "Dockerfile").read_text()
    froms = re.findall(r"^FROM\s+(\S+)", text, re.M)
    assert len(froms) >= 2, "multi-stage build expected"
    base = re.search(r"^ARG PYTHON_IMAGE=(\S+)", text, re.M).group(1)
    assert re.fullmatch(r"python:3\.12\.\d+-slim(-\w+)?", base), base
    uv_image = [f for f in froms if "astral-sh/uv" in f][0]
    assert re.fullmatch(r"ghcr\.io/astral-sh/uv:\d+\.\d+\.\d+", uv_image), uv_image
    assert "uv sync --frozen --no-dev" in text
    assert re.search(r"^ENV[^#]*\bPORT=8080\b", text, re.M | re.S) and "DATA_DIR=/var/lib/app" in text
    users = re.findall(r"^USER\s+(\S+)", text, re.M)
    assert users and users[-1].split(":")[0] not in ("root", "0")
    assert "HEALTHCHECK" in text and "curl" not in text.split("HEALTHCHECK", 1)[1]
    ignored = (PROJECT / ".dockerignore").read_text().split()
    assert {".env", ".venv", ".git"} <= set(ignored)
