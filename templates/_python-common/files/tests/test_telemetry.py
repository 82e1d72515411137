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
        environ = otlp_env(env, collector.url)
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
        service = {a.key: a.value.string_value for a in traces[0].resource_spans[0].resource.attributes}
        assert service["service.name"] == "test-app"


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
