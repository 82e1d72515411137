// OpenTelemetry traces and metrics, sent over OTLP/HTTP to the collector
// named by the standard OTEL_EXPORTER_OTLP_ENDPOINT variable
// (default http://localhost:4318), as OTEL_EXPORTER_OTLP_PROTOCOL says:
// http/protobuf (the default, and what deploy/ sets) or http/json.
// Set OTEL_SDK_DISABLED=true to switch off.
//
// The resource says which app this is (see CONTRACT.md, "Telemetry"): service.name
// (OTEL_SERVICE_NAME, else app.yaml's name), service.namespace, deployment.environment.name,
// levee.app, levee.kind, levee.classification, the SDK's telemetry.sdk.* and host.*; then
// OTEL_RESOURCE_ATTRIBUTES, which wins. The providers are registered globally, so libraries
// that use the OpenTelemetry API report into the same pipeline.
//
// Every request is traced and measured with the stable HTTP semantic
// conventions (metric http.server.request.duration: its count is the request
// count, error.type marks failures, its buckets give latency). Each kind adds
// one business metric of its own through `telemetry.meter`.
import {
  context,
  metrics,
  propagation,
  trace,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  type Attributes,
  type Meter,
  type Tracer,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPMetricExporter as OTLPJsonMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter as OTLPProtoMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { OTLPTraceExporter as OTLPJsonTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OTLPProtoTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { defaultResource, detectResources, hostDetector, resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
  type PushMetricExporter,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import {
  BatchSpanProcessor,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  TracerProvider,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace';
import {
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
  ATTR_SERVICE_NAME,
  ATTR_URL_PATH,
  ATTR_URL_SCHEME,
  METRIC_HTTP_SERVER_REQUEST_DURATION,
} from '@opentelemetry/semantic-conventions';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { ConfigError, intFromEnv, type Env } from './config.ts';
import type { Manifest } from './manifest.ts';

export type TelemetryMode = 'otlp' | 'memory' | 'off';

export interface Telemetry {
  readonly mode: TelemetryMode;
  readonly tracer: Tracer;
  readonly meter: Meter;
  /** Express middleware: one server span and one duration measurement per request. */
  readonly middleware: RequestHandler;
  /** Only in "memory" mode (tests). */
  readonly spanExporter: InMemorySpanExporter | null;
  readonly metricExporter: InMemoryMetricExporter | null;
  /** Push pending spans and metrics now (bounded by the shutdown timeout). */
  flush(): Promise<void>;
  /** Flush and stop. Never takes longer than OTEL_SHUTDOWN_TIMEOUT_MS, even with no collector running. */
  shutdown(): Promise<void>;
}

export interface TelemetryOptions {
  manifest: Manifest;
  env: Env;
  /** Default: "off" when OTEL_SDK_DISABLED=true, otherwise "otlp". Tests use "memory". */
  mode?: TelemetryMode;
  /** Replace the OTLP exporters (e.g. to point them somewhere else in a test). */
  spanExporter?: SpanExporter;
  metricExporter?: PushMetricExporter;
  shutdownTimeoutMs?: number;
}

// Seconds, as recommended for http.server.request.duration.
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];
const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH']);
const UNTRACED_PATHS = new Set(['/healthz']);

let contextManagerInstalled = false;

/** OTEL_RESOURCE_ATTRIBUTES: key=value pairs separated by commas, values percent-encoded. */
export function parseResourceAttributes(raw: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of (raw ?? '').split(',')) {
    const eq = pair.indexOf('=');
    if (eq <= 0) continue;
    const key = pair.slice(0, eq).trim();
    try {
      out[key] = decodeURIComponent(pair.slice(eq + 1).trim());
    } catch {
      out[key] = pair.slice(eq + 1).trim();
    }
  }
  return out;
}

/** The resource of every span and metric: see the comment at the top. */
export function buildResource(manifest: Manifest, env: Env): Resource {
  const fromEnv: Record<string, string> = parseResourceAttributes(env.OTEL_RESOURCE_ATTRIBUTES);
  const serviceName = env.OTEL_SERVICE_NAME?.trim();
  if (serviceName) fromEnv[ATTR_SERVICE_NAME] = serviceName;
  return defaultResource()
    .merge(detectResources({ detectors: [hostDetector] }))
    .merge(
      resourceFromAttributes({
        [ATTR_SERVICE_NAME]: manifest.name,
        'service.namespace': manifest.team || 'levee',
        'deployment.environment.name': manifest.lifecycle.tier,
        'levee.app': manifest.name,
        'levee.kind': manifest.kind,
        'levee.classification': manifest.classification,
      }),
    )
    .merge(resourceFromAttributes(fromEnv));
}

type Protocol = 'http/protobuf' | 'http/json';

/** OTEL_EXPORTER_OTLP_<SIGNAL>_PROTOCOL, else OTEL_EXPORTER_OTLP_PROTOCOL, else http/protobuf. */
export function otlpProtocol(env: Env, signal: 'TRACES' | 'METRICS'): Protocol {
  const name = env[`OTEL_EXPORTER_OTLP_${signal}_PROTOCOL`]?.trim() ? `OTEL_EXPORTER_OTLP_${signal}_PROTOCOL` : 'OTEL_EXPORTER_OTLP_PROTOCOL';
  const value = env[name]?.trim() || 'http/protobuf';
  if (value === 'http/protobuf' || value === 'http/json') return value;
  throw new ConfigError(`${name}=${value} is not supported by this app: use http/protobuf (or http/json), the collector's OTLP/HTTP port (4318).`);
}

/** The OTLP/HTTP URL of one signal, resolved as the specification says. */
export function otlpUrl(env: Env, signal: 'TRACES' | 'METRICS'): string {
  const specific = env[`OTEL_EXPORTER_OTLP_${signal}_ENDPOINT`]?.trim();
  if (specific) return specific;
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim() || 'http://localhost:4318';
  return `${base.replace(/\/+$/, '')}/v1/${signal.toLowerCase()}`;
}

/** Resolve `promise`, but give up waiting after `ms`. Returns false on timeout. */
export async function withTimeout(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
    timer.unref();
  });
  try {
    return await Promise.race([promise.then(() => true, () => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export function initTelemetry(opts: TelemetryOptions): Telemetry {
  const { manifest, env } = opts;
  const mode: TelemetryMode = opts.mode ?? (env.OTEL_SDK_DISABLED === 'true' ? 'off' : 'otlp');
  const shutdownTimeoutMs = opts.shutdownTimeoutMs ?? intFromEnv(env, 'OTEL_SHUTDOWN_TIMEOUT_MS', 3000, 10, 60000);

  if (!contextManagerInstalled) {
    // Lets spans started inside a request find their parent.
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    contextManagerInstalled = true;
  }

  const resource = buildResource(manifest, env);

  let spanExporter: InMemorySpanExporter | null = null;
  let metricExporter: InMemoryMetricExporter | null = null;
  const spanProcessors: SpanProcessor[] = [];
  let reader: PeriodicExportingMetricReader | null = null;

  if (mode === 'memory') {
    spanExporter = new InMemorySpanExporter();
    metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
    spanProcessors.push(new SimpleSpanProcessor({ exporter: spanExporter }));
    reader = new PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: 3_600_000 });
  } else if (mode === 'otlp') {
    const exportTimeoutMillis = Math.min(10_000, shutdownTimeoutMs);
    const traceOpts = { url: otlpUrl(env, 'TRACES'), timeoutMillis: exportTimeoutMillis };
    const metricOpts = { url: otlpUrl(env, 'METRICS'), timeoutMillis: exportTimeoutMillis };
    spanProcessors.push(
      new BatchSpanProcessor({
        exporter:
          opts.spanExporter ??
          (otlpProtocol(env, 'TRACES') === 'http/json' ? new OTLPJsonTraceExporter(traceOpts) : new OTLPProtoTraceExporter(traceOpts)),
        exportTimeoutMillis,
        scheduledDelayMillis: intFromEnv(env, 'OTEL_BSP_SCHEDULE_DELAY', 5000, 0),
      }),
    );
    reader = new PeriodicExportingMetricReader({
      exporter:
        opts.metricExporter ??
        (otlpProtocol(env, 'METRICS') === 'http/json' ? new OTLPJsonMetricExporter(metricOpts) : new OTLPProtoMetricExporter(metricOpts)),
      exportIntervalMillis: intFromEnv(env, 'OTEL_METRIC_EXPORT_INTERVAL', 60_000, 1000),
      exportTimeoutMillis,
    });
  }

  const tracerProvider = new TracerProvider({ resource, spanProcessors });
  const meterProvider = new MeterProvider({ resource, readers: reader ? [reader] : [] });
  if (mode === 'otlp') {
    // Global, so the OpenTelemetry API (and libraries using it) reach these providers.
    trace.setGlobalTracerProvider(tracerProvider);
    metrics.setGlobalMeterProvider(meterProvider);
  }
  const tracer = tracerProvider.getTracer('levee.app');
  const meter = meterProvider.getMeter('levee.app');

  const duration = meter.createHistogram(METRIC_HTTP_SERVER_REQUEST_DURATION, {
    description: 'Duration of HTTP server requests.',
    unit: 's',
    advice: { explicitBucketBoundaries: DURATION_BUCKETS },
  });

  const middleware: RequestHandler = (req: Request, res: Response, next: NextFunction) => {
    if (mode === 'off' || UNTRACED_PATHS.has(req.path)) return next();
    const started = performance.now();
    const method = KNOWN_METHODS.has(req.method) ? req.method : '_OTHER';
    const scheme = req.protocol === 'https' ? 'https' : 'http';
    const parent = propagation.extract(ROOT_CONTEXT, req.headers);
    const span = tracer.startSpan(
      method,
      {
        kind: SpanKind.SERVER,
        attributes: { [ATTR_HTTP_REQUEST_METHOD]: method, [ATTR_URL_SCHEME]: scheme, [ATTR_URL_PATH]: req.path },
      },
      parent,
    );
    let done = false;
    const finish = (aborted: boolean) => {
      if (done) return;
      done = true;
      // Only the route template (e.g. /submissions/:id), never the raw URL, to keep metrics small.
      const route = req.route?.path ? `${req.baseUrl}${String(req.route.path)}` : undefined;
      const status = res.statusCode;
      const attrs: Attributes = {
        [ATTR_HTTP_REQUEST_METHOD]: method,
        [ATTR_URL_SCHEME]: scheme,
        [ATTR_HTTP_RESPONSE_STATUS_CODE]: status,
      };
      if (route) attrs[ATTR_HTTP_ROUTE] = route;
      if (aborted) attrs[ATTR_ERROR_TYPE] = 'aborted';
      else if (status >= 500) attrs[ATTR_ERROR_TYPE] = String(status);
      span.setAttributes(attrs);
      if (route) span.updateName(`${method} ${route}`);
      if (attrs[ATTR_ERROR_TYPE]) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
      duration.record((performance.now() - started) / 1000, attrs);
    };
    res.once('finish', () => finish(false));
    res.once('close', () => finish(!res.writableFinished));
    context.with(trace.setSpan(parent, span), next);
  };

  const flushAll = () => Promise.allSettled([tracerProvider.forceFlush(), meterProvider.forceFlush()]);
  let stopped: Promise<void> | null = null;

  return {
    mode,
    tracer,
    meter,
    middleware,
    spanExporter,
    metricExporter,
    async flush() {
      await withTimeout(flushAll(), shutdownTimeoutMs);
    },
    shutdown() {
      stopped ??= (async () => {
        // A missing or stuck collector must never keep the app from stopping.
        await withTimeout(
          Promise.allSettled([tracerProvider.shutdown(), meterProvider.shutdown()]),
          shutdownTimeoutMs,
        );
      })();
      return stopped;
    },
  };
}

/** Test helper: all data points of a metric collected so far (memory mode). */
export async function metricPoints(
  telemetry: Telemetry,
  name: string,
): Promise<Array<{ attributes: Attributes; value: unknown }>> {
  if (!telemetry.metricExporter) throw new Error('metricPoints() needs telemetry mode "memory"');
  await telemetry.flush();
  const batches: ResourceMetrics[] = telemetry.metricExporter.getMetrics();
  const last = batches.at(-1);
  const out: Array<{ attributes: Attributes; value: unknown }> = [];
  for (const scope of last?.scopeMetrics ?? []) {
    for (const metric of scope.metrics) {
      if (metric.descriptor.name !== name) continue;
      for (const dp of metric.dataPoints) out.push({ attributes: dp.attributes, value: dp.value });
    }
  }
  return out;
}
