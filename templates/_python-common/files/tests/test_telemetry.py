"""Traces and metrics: in memory, then for real over OTLP/HTTP to a local fake collector."""

from __future__ import annotations

import time

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from app.config import parse_manifest
from app.telemetry import Telemetry, exporter_timeout_seconds
from tests.conftest import HTML
from tests.fakes import BlackHole, Recorder


def test_http_server_request_duration_uses_stable_semconv(client, login):
    login(client)
    client.get("/", headers=HTML)
    client.get("/healthz")  # not recorded: health checks would drown everything else
    points = client.telemetry.points("http.server.request.duration")
    assert points, "http.server.request.duration was not recorded"
    attrs = [dict(p.attributes) for p in points]
    page = [a for a in attrs if a.get("http.route") == "/"]
    assert page and page[0]["http.request.method"] == "GET"
    assert {a["http.response.status_code"] for a in page} >= {200}
    assert not any(a.get("http.route") == "/healthz" for a in attrs)
    assert not client.telemetry.points("http.server.duration")  # the old (unstable) name is not used


def test_spans_are_recorded(client, login):
    login(client)
    client.get("/", headers=HTML)
    spans = client.telemetry.spans.get_finished_spans()
    assert any(s.name == "GET /" for s in spans)
    resource = spans[0].resource.attributes
    assert resource["service.name"] == "test-app"
    assert resource["deployment.environment.name"] == "prototype"


def test_exporter_timeout_is_converted_from_milliseconds():
    assert exporter_timeout_seconds({"OTEL_EXPORTER_OTLP_TIMEOUT": "2500"}) == 2.5
    assert exporter_timeout_seconds({}) == 10.0


def otlp_env(env, endpoint, **extra):
    environ = {k: v for k, v in env.items() if k != "OTEL_SDK_DISABLED"}
    environ.update({
        "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
        "OTEL_METRIC_EXPORT_INTERVAL": "3600000",  # nothing leaves before shutdown...
        "OTEL_BSP_SCHEDULE_DELAY": "3600000",
        **extra,
    })
    return environ


def metric_names(requests) -> set[str]:
    names = set()
    for req in requests:
        if req.path == "/v1/metrics":
            msg = ExportMetricsServiceRequest.FromString(req.body)
            for rm in msg.resource_metrics:
                for sm in rm.scope_metrics:
                    names.update(m.name for m in sm.metrics)
    return names


def test_otlp_http_protobuf_export_is_flushed_at_shutdown(manifest_data, env, oidc):
    from fastapi.testclient import TestClient

    from app.main import create_app

    with Recorder(status=200, headers={"content-type": "application/x-protobuf"}) as collector:
        # As deploy/ sets them; a value in here wins over the app's own.
        environ = otlp_env(env, collector.url, OTEL_EXPORTER_OTLP_PROTOCOL="http/protobuf",
                           OTEL_SERVICE_NAME="test-app-from-env",
                           OTEL_RESOURCE_ATTRIBUTES="service.namespace=levee-sandbox,levee.team=platform,"
                                                    "levee.cost_center=CC%2D1")
        app = create_app(manifest=parse_manifest(manifest_data, environ), environ=environ)
        with TestClient(app) as client:
            client.get("/", headers=HTML, follow_redirects=False)
            assert not collector.requests  # ...so this proves the shutdown flush
        paths = {r.path for r in collector.requests}
        assert {"/v1/traces", "/v1/metrics"} <= paths
        assert all(r.headers["content-type"] == "application/x-protobuf" for r in collector.requests)
        assert "http.server.request.duration" in metric_names(collector.requests)
        traces = [ExportTraceServiceRequest.FromString(r.body) for r in collector.requests
                  if r.path == "/v1/traces"]
        r = {a.key: a.value.string_value for a in traces[0].resource_spans[0].resource.attributes}
        assert r["service.name"] == "test-app-from-env", "OTEL_SERVICE_NAME wins over app.yaml"
        assert r["service.namespace"] == "levee-sandbox", "OTEL_RESOURCE_ATTRIBUTES wins"
        assert (r["levee.team"], r["levee.cost_center"]) == ("platform", "CC-1")
        assert (r["levee.app"], r["levee.kind"], r["levee.classification"]) == (
            "test-app", manifest_data["kind"], "internal")
        assert r["deployment.environment.name"] == "prototype"
        assert (r["telemetry.sdk.language"], r["telemetry.sdk.name"]) == ("python", "opentelemetry")
        assert r["telemetry.sdk.version"] and r["host.name"]


def test_shutdown_flush_is_capped_when_the_collector_hangs(manifest_data, env):
    with BlackHole() as hole:
        environ = otlp_env(env, hole.url, OTEL_SHUTDOWN_TIMEOUT_MS="500", OTEL_EXPORTER_OTLP_TIMEOUT="1500")
        telemetry = Telemetry.from_env(parse_manifest(manifest_data, environ), environ)
        telemetry.meter.create_counter("app.test").add(1)
        with telemetry.tracer.start_as_current_span("work"):
            pass
        started = time.monotonic()
        finished = telemetry.shutdown()
        took = time.monotonic() - started
        telemetry._flush_thread.join(5)  # let the abandoned export give up before the black hole closes
    assert not finished
    assert took < 2.0, f"shutdown took {took:.1f}s despite a 0.5s cap"


def test_sdk_disabled_means_no_export(manifest_data, env):
    telemetry = Telemetry.from_env(parse_manifest(manifest_data, env), {"OTEL_SDK_DISABLED": "true"})
    assert not telemetry.enabled
    assert telemetry.shutdown() is True


def test_otlp_protocol_http_protobuf_only_with_a_clear_refusal(manifest_data, env):
    import pytest

    from app.config import ConfigError
    from app.telemetry import otlp_protocol

    assert otlp_protocol({}, "TRACES") == "http/protobuf"
    with pytest.raises(ConfigError, match="OTEL_EXPORTER_OTLP_PROTOCOL=grpc is not supported"):
        Telemetry.from_env(parse_manifest(manifest_data, env), otlp_env(env, "http://127.0.0.1:9",
                                                                        OTEL_EXPORTER_OTLP_PROTOCOL="grpc"))


def test_the_providers_are_registered_globally(manifest_data, env):
    """In a fresh interpreter: the app's providers are what the OpenTelemetry API hands out."""
    import subprocess
    import sys
    from pathlib import Path

    code = (
        "from opentelemetry import metrics, trace\n"
        "from app.config import parse_manifest\n"
        "from app.telemetry import Telemetry\n"
        "import json, sys\n"
        "data, environ = json.loads(sys.argv[1]), json.loads(sys.argv[2])\n"
        "t = Telemetry.from_env(parse_manifest(data, environ), environ)\n"
        "assert trace.get_tracer_provider() is t.tracer_provider\n"
        "assert metrics.get_meter_provider() is t.meter_provider\n"
        "t.shutdown()\n"
    )
    import json

    environ = otlp_env(env, "http://127.0.0.1:9", OTEL_SHUTDOWN_TIMEOUT_MS="100")
    done = subprocess.run([sys.executable, "-c", code, json.dumps(manifest_data), json.dumps(environ)],
                          cwd=Path(__file__).resolve().parent.parent, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
