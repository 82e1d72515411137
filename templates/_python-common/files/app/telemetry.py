"""Traces and metrics over OTLP (http/protobuf), the same names as the Node apps.

- HTTP metrics follow the stable semantic conventions
  (`http.server.request.duration`), selected with OTEL_SEMCONV_STABILITY_OPT_IN=http.
- Each kind adds one business metric (app.dashboard.views, app.form.submissions /
  app.form.approvals, app.webhook.events).
- Configure with the standard OTEL_* variables (OTEL_EXPORTER_OTLP_ENDPOINT, ...).
  OTEL_EXPORTER_OTLP_PROTOCOL must be http/protobuf (the default, and what deploy/ sets).
- The resource (CONTRACT.md, "Telemetry"): service.name (OTEL_SERVICE_NAME, else app.yaml's
  name), service.namespace, deployment.environment.name, levee.app, levee.kind,
  levee.classification, telemetry.sdk.*, host.*; then OTEL_RESOURCE_ATTRIBUTES, which wins.
- The providers are registered globally, so libraries using the OpenTelemetry API report into
  the same pipeline.
  OTEL_SDK_DISABLED=true turns telemetry off. With APP_ENV=dev and no
  endpoint set, telemetry is off too.
- Units: OTEL_EXPORTER_OTLP_TIMEOUT is read as milliseconds, as the OpenTelemetry
  spec and the Node SDK do; the Python exporter wants seconds, so it is converted here.
- On shutdown the last batch is flushed, within OTEL_SHUTDOWN_TIMEOUT_MS
  (default 3000) at most: uvicorn re-raises SIGTERM, so the SDK's own exit hook
  cannot be relied on.
"""

from __future__ import annotations

import logging
import os
import platform
import socket
import threading
import time
from collections.abc import Mapping
from urllib.parse import unquote

os.environ.setdefault("OTEL_SEMCONV_STABILITY_OPT_IN", "http")

from opentelemetry import metrics, trace  # noqa: E402
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor  # noqa: E402
from opentelemetry.sdk.metrics import MeterProvider  # noqa: E402
from opentelemetry.sdk.metrics.export import MetricReader, PeriodicExportingMetricReader  # noqa: E402
from opentelemetry.sdk.resources import Resource  # noqa: E402
from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanProcessor  # noqa: E402

from app.config import ConfigError, Manifest  # noqa: E402

log = logging.getLogger(__name__)

INSTRUMENTATION_SCOPE = "levee.app"


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def exporter_timeout_seconds(environ: Mapping[str, str]) -> float:
    """OTEL_EXPORTER_OTLP_TIMEOUT in milliseconds (spec, Node) -> seconds (Python exporter)."""
    raw = environ.get("OTEL_EXPORTER_OTLP_TIMEOUT")
    try:
        return max(float(raw) / 1000.0, 0.1) if raw else 10.0
    except ValueError:
        log.warning("OTEL_EXPORTER_OTLP_TIMEOUT=%r is not a number of milliseconds; using 10 s", raw)
        return 10.0


def _int(environ: Mapping[str, str], key: str, default: int) -> int:
    try:
        return int(environ.get(key) or default)
    except ValueError:
        log.warning("%s=%r is not a whole number; using %d", key, environ.get(key), default)
        return default


def _signal_endpoint(environ: Mapping[str, str], signal: str, path: str) -> str:
    """The OTLP/HTTP URL of one signal, resolved as the spec says."""
    specific = environ.get(f"OTEL_EXPORTER_OTLP_{signal}_ENDPOINT")
    if specific:
        return specific
    base = environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or "http://localhost:4318"
    return f"{base.rstrip('/')}/{path}"


def parse_resource_attributes(raw: str | None) -> dict[str, str]:
    """OTEL_RESOURCE_ATTRIBUTES: key=value pairs separated by commas, values percent-encoded."""
    out: dict[str, str] = {}
    for pair in (raw or "").split(","):
        key, sep, value = pair.partition("=")
        if sep and key.strip():
            out[key.strip()] = unquote(value.strip())
    return out


def build_resource(manifest: Manifest, environ: Mapping[str, str] | None = None) -> Resource:
    environ = os.environ if environ is None else environ
    from_env = parse_resource_attributes(environ.get("OTEL_RESOURCE_ATTRIBUTES"))
    if (environ.get("OTEL_SERVICE_NAME") or "").strip():
        from_env["service.name"] = environ["OTEL_SERVICE_NAME"].strip()
    return (Resource.create({})  # telemetry.sdk.*
            .merge(Resource({"host.name": socket.gethostname(), "host.arch": platform.machine()}))
            .merge(Resource({
                "service.name": manifest.name,
                "service.namespace": str(manifest.raw.get("team") or "levee"),
                "deployment.environment.name": manifest.tier,
                "levee.app": manifest.name,
                "levee.kind": manifest.kind,
                "levee.classification": manifest.classification,
            }))
            .merge(Resource(from_env)))  # the environment wins


def otlp_protocol(environ: Mapping[str, str], signal: str) -> str:
    """OTEL_EXPORTER_OTLP_<SIGNAL>_PROTOCOL, else OTEL_EXPORTER_OTLP_PROTOCOL, else http/protobuf."""
    specific = f"OTEL_EXPORTER_OTLP_{signal}_PROTOCOL"
    name = specific if (environ.get(specific) or "").strip() else "OTEL_EXPORTER_OTLP_PROTOCOL"
    value = (environ.get(name) or "").strip() or "http/protobuf"
    if value != "http/protobuf":
        raise ConfigError(f"{name}={value} is not supported by this app: use http/protobuf, "
                          "the collector's OTLP/HTTP port (4318).")
    return value


class Telemetry:
    def __init__(self, tracer_provider, meter_provider, *, enabled: bool,
                 flush_timeout_ms: int = 3000) -> None:
        self.tracer_provider = tracer_provider
        self.meter_provider = meter_provider
        self.enabled = enabled
        self.flush_timeout_ms = flush_timeout_ms
        self.meter = meter_provider.get_meter(INSTRUMENTATION_SCOPE)
        self.tracer = tracer_provider.get_tracer(INSTRUMENTATION_SCOPE)
        self._shut_down = False

    @classmethod
    def disabled(cls) -> Telemetry:
        return cls(trace.NoOpTracerProvider(), metrics.NoOpMeterProvider(), enabled=False)

    @classmethod
    def build(cls, manifest: Manifest, *, span_processor: SpanProcessor | None = None,
              span_exporter: SpanExporter | None = None, metric_reader: MetricReader | None = None,
              flush_timeout_ms: int = 3000, environ: Mapping[str, str] | None = None,
              register_global: bool = False) -> Telemetry:
        """Providers around the given exporter/reader (used by from_env and by the tests)."""
        resource = build_resource(manifest, environ)
        tracer_provider = TracerProvider(resource=resource, shutdown_on_exit=False)
        if span_processor is None and span_exporter is not None:
            span_processor = BatchSpanProcessor(span_exporter)
        if span_processor is not None:
            tracer_provider.add_span_processor(span_processor)
        readers = [metric_reader] if metric_reader is not None else []
        meter_provider = MeterProvider(resource=resource, metric_readers=readers, shutdown_on_exit=False)
        if register_global:
            # Global, so the OpenTelemetry API (and libraries using it) reach these providers.
            # Set once per process: the first app's providers stay (a second one is only warned about).
            trace.set_tracer_provider(tracer_provider)
            metrics.set_meter_provider(meter_provider)
        return cls(tracer_provider, meter_provider, enabled=True, flush_timeout_ms=flush_timeout_ms)

    @classmethod
    def from_env(cls, manifest: Manifest, environ: Mapping[str, str] | None = None) -> Telemetry:
        environ = os.environ if environ is None else environ
        if _truthy(environ.get("OTEL_SDK_DISABLED")):
            return cls.disabled()
        endpoint_set = any(environ.get(k) for k in (
            "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"))
        if (environ.get("APP_ENV") or "").strip() == "dev" and not endpoint_set:
            log.info("Telemetry is off: no OTEL_EXPORTER_OTLP_ENDPOINT in development.")
            return cls.disabled()

        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        otlp_protocol(environ, "TRACES")
        otlp_protocol(environ, "METRICS")
        timeout_s = exporter_timeout_seconds(environ)
        flush_ms = min(max(_int(environ, "OTEL_SHUTDOWN_TIMEOUT_MS", 3000), 10), 60_000)
        return cls.build(
            manifest,
            span_processor=BatchSpanProcessor(
                OTLPSpanExporter(endpoint=_signal_endpoint(environ, "TRACES", "v1/traces"), timeout=timeout_s),
                schedule_delay_millis=_int(environ, "OTEL_BSP_SCHEDULE_DELAY", 5000),
            ),
            metric_reader=PeriodicExportingMetricReader(
                OTLPMetricExporter(endpoint=_signal_endpoint(environ, "METRICS", "v1/metrics"), timeout=timeout_s),
                export_interval_millis=_int(environ, "OTEL_METRIC_EXPORT_INTERVAL", 60_000),
            ),
            flush_timeout_ms=flush_ms,
            environ=environ,
            register_global=True,
        )

    def instrument(self, app) -> None:
        FastAPIInstrumentor.instrument_app(
            app,
            tracer_provider=self.tracer_provider,
            meter_provider=self.meter_provider,
            excluded_urls="/healthz",
        )

    def shutdown(self) -> bool:
        """Flush the last batch and stop, never taking longer than flush_timeout_ms.

        Returns True when everything finished in time.
        """
        if not self.enabled or self._shut_down:
            return True
        self._shut_down = True
        budget_ms = self.flush_timeout_ms
        deadline = time.monotonic() + budget_ms / 1000.0

        def remaining_ms() -> int:
            return max(int((deadline - time.monotonic()) * 1000), 1)

        def flush_and_stop() -> None:
            try:
                self.tracer_provider.force_flush(timeout_millis=remaining_ms())
                self.meter_provider.force_flush(timeout_millis=remaining_ms())
                self.tracer_provider.shutdown()
                self.meter_provider.shutdown(timeout_millis=remaining_ms())
            except Exception:  # telemetry must never block or break a shutdown
                log.exception("Telemetry flush failed")

        # A daemon thread bounds the whole thing, exporter retries included.
        worker = threading.Thread(target=flush_and_stop, name="telemetry-flush", daemon=True)
        self._flush_thread = worker
        worker.start()
        worker.join(budget_ms / 1000.0)
        if worker.is_alive():
            log.warning("Telemetry flush did not finish within %d ms; the rest is dropped.", budget_ms)
            return False
        return True
