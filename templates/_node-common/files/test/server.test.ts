// Starts the real server (src/server.ts) as a separate process, the way deploy/
// runs it (APP_ENV=production, secrets as files in LEVEE_SECRETS_DIR, DATA_DIR), with
// telemetry pointed at a "collector" that accepts connections and never answers, and a
// login provider that cannot be reached. The health check must work (readiness does not
// depend on the provider) and SIGTERM must stop the app promptly anyway.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { stringify } from 'yaml';
import { kindFixture, randomSecret, testManifestDoc } from './support/harness.ts';
import { tempDir } from './support/tmp.ts';

test('the server starts as deploy/ runs it, answers /healthz without its login provider, and stops on SIGTERM', async () => {
  const sockets: Socket[] = [];
  const blackHole = createServer((s) => {
    sockets.push(s);
    s.on('error', () => {});
  });
  await new Promise<void>((r) => blackHole.listen(0, '127.0.0.1', r));
  const collector = `http://127.0.0.1:${(blackHole.address() as AddressInfo).port}`;

  const dir = tempDir('server-');
  const manifestPath = join(dir, 'app.yaml');
  // Production tier: no env secrets; every secret comes from a file, as deploy/ mounts them.
  const doc = testManifestDoc('https://login.unreachable.invalid', { lifecycle: { tier: 'production' } });
  doc.secrets = (doc.secrets as Array<{ name: string }>).map((s) => ({ name: s.name, provider: 'vault' }));
  writeFileSync(manifestPath, stringify(doc));
  const secretsDir = join(dir, 'secrets');
  const dataDir = join(dir, 'data');
  mkdirSync(secretsDir);
  mkdirSync(dataDir);
  for (const [name, value] of Object.entries({ SESSION_SECRET: randomSecret(), ...kindFixture.secrets })) {
    writeFileSync(join(secretsDir, name), `${value}\n`, { mode: 0o400 });
  }

  const child = spawn(process.execPath, ['src/server.ts'], {
    env: {
      PATH: process.env.PATH ?? '',
      APP_ENV: 'production',
      HOST: '127.0.0.1',
      PORT: '0',
      LEVEE_MANIFEST: manifestPath,
      LEVEE_SECRETS_DIR: secretsDir,
      DATA_DIR: dataDir,
      APP_BASE_URL: 'https://app.example.com',
      ...kindFixture.productionEnv,
      OTEL_EXPORTER_OTLP_ENDPOINT: collector,
      OTEL_METRIC_EXPORT_INTERVAL: '1000',
      OTEL_SHUTDOWN_TIMEOUT_MS: '500',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d));
  child.stderr.on('data', (d: Buffer) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));

  try {
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`server did not start:\n${output}`)), 15_000);
      child.stdout.on('data', () => {
        const m = /"msg":"listening".*?"port":(\d+)/.exec(output);
        if (m) {
          clearTimeout(timer);
          resolve(Number(m[1]));
        }
      });
      void exited.then((code) => reject(new Error(`server exited with ${code}:\n${output}`)));
    });
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    assert.equal(health.status, 200);
    assert.equal(health.headers.get('strict-transport-security'), 'max-age=31536000', 'HSTS when deployed');
    // What the pipeline's telemetry check reads: OTLP export is on in production.
    assert.deepEqual(await health.json(), { status: 'ok', telemetry: 'exporting' });
    const home = await fetch(`http://127.0.0.1:${port}/`, { redirect: 'manual', headers: { accept: 'text/html' } });
    assert.equal(home.status, 303, 'pages need login');
    assert.equal(home.headers.get('set-cookie'), null, 'no cookie before login starts');

    // Let the metric reader start an export that will never be answered.
    await new Promise((r) => setTimeout(r, 1200));
    const started = performance.now();
    child.kill('SIGTERM');
    const code = await exited;
    const took = performance.now() - started;
    assert.equal(code, 0, output);
    assert.ok(took < 5000, `stopping took ${Math.round(took)} ms`);
    // Nothing was written outside DATA_DIR (and /tmp): the manifest's folder holds what we put there.
    assert.deepEqual(readdirSync(dir).sort(), ['app.yaml', 'data', 'secrets']);
  } finally {
    child.kill('SIGKILL');
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => blackHole.close(() => r()));
  }
});
