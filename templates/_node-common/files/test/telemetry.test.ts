// Traces and HTTP metrics with in-memory exporters; shutdown never hangs.
// (test/server.test.ts also stops the real server with a collector that never answers.)
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import express from 'express';
import type { PushMetricExporter } from '@opentelemetry/sdk-metrics';
import type { SpanExporter } from '@opentelemetry/sdk-trace';
import { stringify } from 'yaml';
import { parseManifest } from '../src/manifest.ts';
import { trace } from '@opentelemetry/api';
import { initTelemetry, metricPoints, otlpProtocol, withTimeout, type Telemetry } from '../src/telemetry.ts';
import { decodeTraceExport, startCollector } from './support/otlp.ts';
import { closeServer, listen } from './support/harness.ts';

const manifest = parseManifest(
  stringify({ name: 'telemetry-app', kind: 'form', classification: 'internal', sso: 'oidc', lifecycle: { tier: 'sandbox' } }),
);

describe('request telemetry', () => {
  let telemetry: Telemetry;
  let server: import('node:http').Server;
  let base: string;
  before(async () => {
    telemetry = initTelemetry({ manifest, env: {}, mode: 'memory' });
    const app = express();
    app.get('/healthz', (_req, res) => res.send('ok'));
    app.use(telemetry.middleware);
    app.get('/items/:id', (_req, res) => res.json({ ok: true }));
    app.get('/boom', () => {
      throw new Error('kaput');
    });
    app.use(((_err, _req, res, _next) => res.status(500).send('error')) as express.ErrorRequestHandler);
    server = await listen(app);
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await closeServer(server);
    await telemetry.shutdown();
  });

  test('one server span per request, named after the route, joined to the caller\'s trace', async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    await fetch(`${base}/items/42`, { headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` } });
    await fetch(`${base}/healthz`);
    await telemetry.flush();
    const spans = telemetry.spanExporter!.getFinishedSpans();
    const span = spans.find((s) => s.name === 'GET /items/:id');
    assert.ok(span, `spans: ${spans.map((s) => s.name).join(', ')}`);
    assert.equal(span.spanContext().traceId, traceId);
    assert.equal(span.attributes['http.request.method'], 'GET');
    assert.equal(span.attributes['http.route'], '/items/:id');
    assert.equal(span.attributes['http.response.status_code'], 200);
    assert.ok(!spans.some((s) => s.attributes['url.path'] === '/healthz'), 'health checks are not traced');
  });

  test('http.server.request.duration counts requests and marks errors', async () => {
    await fetch(`${base}/items/1`);
    await fetch(`${base}/boom`);
    const points = await metricPoints(telemetry, 'http.server.request.duration');
    const ok = points.find((p) => p.attributes['http.route'] === '/items/:id');
    const failed = points.find((p) => p.attributes['http.route'] === '/boom');
    assert.ok(ok && failed);
    assert.ok((ok.value as { count: number }).count >= 2);
    assert.equal(ok.attributes['error.type'], undefined);
    assert.equal(failed.attributes['http.response.status_code'], 500);
    assert.equal(failed.attributes['error.type'], '500');
    assert.ok((failed.value as { sum: number }).sum >= 0);
    const spans = telemetry.spanExporter!.getFinishedSpans();
    assert.equal(spans.find((s) => s.name === 'GET /boom')?.status.code, 2 /* ERROR */);
  });
});

describe('export to a collector (OTLP/HTTP)', () => {
  test('spans go out as http/protobuf with the app, SDK, host and OTEL_RESOURCE_ATTRIBUTES resource; env wins', async () => {
    const collector = await startCollector();
    const telemetry = initTelemetry({
      manifest,
      mode: 'otlp',
      env: {
        OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
        OTEL_SERVICE_NAME: 'telemetry-app-from-env',
        // As deploy/ sets them; a value in here wins over the app's own.
        OTEL_RESOURCE_ATTRIBUTES: 'service.namespace=levee-sandbox,levee.team=platform,levee.cost_center=CC%2D1',
        OTEL_METRIC_EXPORT_INTERVAL: '3600000',
      },
    });
    try {
      // Through the global API, as a library would: the providers are registered globally.
      trace.getTracer('some-library').startSpan('library work').end();
      telemetry.tracer.startSpan('app work').end();
      await telemetry.flush();
      const traces = collector.exports.filter((e) => e.path === '/v1/traces');
      assert.ok(traces.length > 0, `exports: ${collector.exports.map((e) => e.path).join(', ')}`);
      assert.equal(traces[0]!.contentType, 'application/x-protobuf');
      const [batch] = decodeTraceExport(traces[0]!.body);
      assert.deepEqual(batch!.spans.sort(), ['app work', 'library work']);
      const r = batch!.resource;
      assert.equal(r['service.name'], 'telemetry-app-from-env', 'OTEL_SERVICE_NAME wins over app.yaml');
      assert.equal(r['service.namespace'], 'levee-sandbox', 'OTEL_RESOURCE_ATTRIBUTES wins');
      assert.equal(r['levee.team'], 'platform');
      assert.equal(r['levee.cost_center'], 'CC-1');
      assert.equal(r['levee.app'], 'telemetry-app');
      assert.equal(r['levee.kind'], 'form');
      assert.equal(r['levee.classification'], 'internal');
      assert.equal(r['deployment.environment.name'], 'sandbox');
      assert.equal(r['telemetry.sdk.language'], 'nodejs');
      assert.equal(r['telemetry.sdk.name'], 'opentelemetry');
      assert.ok(r['telemetry.sdk.version'], 'SDK version');
      assert.ok(r['host.name'], 'host attributes');
    } finally {
      await telemetry.shutdown();
      await collector.close();
    }
  });

  test('OTEL_EXPORTER_OTLP_PROTOCOL: http/protobuf by default, http/json on request, grpc refused clearly', () => {
    assert.equal(otlpProtocol({}, 'TRACES'), 'http/protobuf');
    assert.equal(otlpProtocol({ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }, 'METRICS'), 'http/json');
    assert.equal(otlpProtocol({ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/protobuf' }, 'TRACES'), 'http/protobuf');
    assert.throws(() => otlpProtocol({ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }, 'TRACES'), /OTEL_EXPORTER_OTLP_PROTOCOL=grpc is not supported/);
  });
});

describe('shutdown', () => {
  test('is capped by OTEL_SHUTDOWN_TIMEOUT_MS even if the exporters never answer', async () => {
    // Exporters that never call back: the worst possible collector.
    const stuckSpans: SpanExporter = { export: () => {}, shutdown: () => new Promise(() => {}) };
    const stuckMetrics: PushMetricExporter = { export: () => {}, forceFlush: () => new Promise(() => {}), shutdown: () => new Promise(() => {}) };
    const telemetry = initTelemetry({
      manifest,
      env: { OTEL_SHUTDOWN_TIMEOUT_MS: '300' },
      mode: 'otlp',
      spanExporter: stuckSpans,
      metricExporter: stuckMetrics,
    });
    telemetry.tracer.startSpan('work').end();
    telemetry.meter.createCounter('app.test.counter').add(1);
    const started = performance.now();
    await telemetry.shutdown();
    const took = performance.now() - started;
    assert.ok(took < 1500, `shutdown took ${Math.round(took)} ms`);
  });

  test('withTimeout reports whether the work finished in time', async () => {
    assert.equal(await withTimeout(Promise.resolve(), 50), true);
    assert.equal(await withTimeout(new Promise(() => {}), 20), false);
    assert.equal(await withTimeout(Promise.reject(new Error('x')), 50), true);
  });

  test('OTEL_SDK_DISABLED=true switches telemetry off', async () => {
    const telemetry = initTelemetry({ manifest, env: { OTEL_SDK_DISABLED: 'true' } });
    assert.equal(telemetry.mode, 'off');
    await telemetry.shutdown();
  });
});
