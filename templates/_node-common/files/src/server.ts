// Starts the app: reads app.yaml, sets up telemetry and secrets, listens on
// HOST:PORT and shuts down cleanly on SIGTERM/SIGINT.
import type { AddressInfo } from 'node:net';
import { createApp } from './app.ts';
import { isLocalDev, intFromEnv } from './config.ts';
import { createLogger } from './log.ts';
import { loadManifest } from './manifest.ts';
import { initTelemetry } from './telemetry.ts';

const env = process.env;
const bootLog = createLogger(env);

async function main(): Promise<void> {
  const manifest = loadManifest(env);
  const log = createLogger(env, { app: manifest.name });
  const telemetry = initTelemetry({ manifest, env });
  const { app } = await createApp({ manifest, env, telemetry, log });

  const port = intFromEnv(env, 'PORT', 8080, 0, 65535);
  // On a laptop (APP_ENV=dev) only this machine can connect; deployed, every interface.
  const host = env.HOST?.trim() || (isLocalDev(env) ? '127.0.0.1' : '0.0.0.0');
  const server = app.listen(port, host, () => {
    const { address, port: actual } = server.address() as AddressInfo;
    log.info('listening', { address, port: actual, tier: manifest.lifecycle.tier, telemetry: telemetry.mode });
  });
  server.on('error', (err) => {
    log.error('server error', { error: err.message });
    process.exit(1);
  });

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info('shutting down', { signal });
    // Hard limit: never hang on the way down.
    setTimeout(() => process.exit(1), intFromEnv(env, 'SHUTDOWN_TIMEOUT_MS', 10_000, 100)).unref();
    server.close(() => {
      void telemetry.shutdown().finally(() => process.exit(0));
    });
    server.closeIdleConnections();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err: Error) => {
  bootLog.error(err.name === 'ConfigError' || err.name === 'SecretError' ? err.message : 'start-up failed', {
    error: err.message,
    stack: err.name === 'ConfigError' ? undefined : err.stack,
  });
  process.exit(1);
});
