// Builds the Express app: health check, telemetry, login, then this app's
// own pages from src/routes.ts. Everything in routes.ts is behind login.
import express, { type ErrorRequestHandler, type Express, type RequestHandler } from 'express';
import { trace } from '@opentelemetry/api';
import { createAuth, sendProblem, type Auth } from './auth.ts';
import { ConfigError, intFromEnv, isLocalDev, type Env } from './config.ts';
import { html, page } from './html.ts';
import { createLogger, type Logger } from './log.ts';
import type { Manifest } from './manifest.ts';
import { createSecretStore, type SecretStore } from './secrets.ts';
import type { SessionStore } from './session.ts';
import { initTelemetry, type Telemetry } from './telemetry.ts';
import * as kind from './routes.ts';

/** Everything a route needs. Passed to registerRoutes in src/routes.ts. */
export interface AppContext {
  manifest: Manifest;
  env: Env;
  secrets: SecretStore;
  telemetry: Telemetry;
  log: Logger;
  auth: Auth;
  /** Use this for outgoing HTTP calls (tests can replace it). */
  fetch: typeof fetch;
  /** The clock (tests move it forward). */
  now: () => number;
}

export interface CreateAppOptions {
  manifest: Manifest;
  env: Env;
  telemetry?: Telemetry;
  secrets?: SecretStore;
  log?: Logger;
  fetch?: typeof fetch;
  sessionStore?: SessionStore;
  now?: () => number;
}

/** The largest form or JSON body the app's pages accept (the webhook has its own limit). */
export const MAX_BODY_BYTES = 100 * 1024;

/** Secrets every app of this kind needs, beyond the ones the kind lists. */
export const COMMON_SECRETS = ['SESSION_SECRET'];

/**
 * Checks app.yaml against what this code needs, without contacting anything.
 * Returns a list of problems in plain words (empty = fine).
 */
export function preflight(manifest: Manifest, env: Env): string[] {
  const problems: string[] = [];
  if (manifest.kind !== kind.KIND) {
    problems.push(`${manifest.source} says kind "${manifest.kind}" but this is the code of a ${kind.KIND} app`);
  }
  for (const name of [...COMMON_SECRETS, ...kind.REQUIRED_SECRETS]) {
    if (!manifest.secrets.some((s) => s.name === name)) {
      problems.push(`secret ${name} must be listed under "secrets:" in ${manifest.source}`);
    }
  }
  for (const s of manifest.secrets) {
    if (s.provider === 'env' && manifest.lifecycle.tier !== 'prototype') {
      problems.push(
        `Secret ${s.name} uses provider "env", which is only allowed for prototypes, but app.yaml says lifecycle.tier is ` +
          `"${manifest.lifecycle.tier}". Store the secret in vault or aws-secrets-manager and change its provider in app.yaml.`,
      );
    }
  }
  problems.push(...kind.checkManifest(manifest, env));
  return problems;
}

const securityHeaders = (hsts: boolean): RequestHandler => (_req, res, next) => {
  if (hsts) res.set('Strict-Transport-Security', 'max-age=31536000');
  res.set({
    // No scripts at all; pages are plain server-rendered HTML.
    'Content-Security-Policy':
      "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'X-Frame-Options': 'DENY',
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cache-Control': 'no-store',
  });
  next();
};

export async function createApp(opts: CreateAppOptions): Promise<{ app: Express; ctx: AppContext }> {
  const { manifest, env } = opts;
  const log = opts.log ?? createLogger(env, { app: manifest.name });
  const problems = preflight(manifest, env);
  if (problems.length > 0) throw new ConfigError(`This app cannot start:\n  - ${problems.join('\n  - ')}`);

  const telemetry = opts.telemetry ?? initTelemetry({ manifest, env });
  const secrets = opts.secrets ?? createSecretStore(manifest, env);
  // Every declared secret is read now: an unreadable one stops the app before it is "ready".
  await secrets.preload();
  const now = opts.now ?? Date.now;
  const auth = createAuth({
    manifest,
    env,
    secrets,
    log,
    now,
    sessionSecret: await secrets.getSecret('SESSION_SECRET'),
    ...(opts.sessionStore ? { sessionStore: opts.sessionStore } : {}),
  });
  const ctx: AppContext = { manifest, env, secrets, telemetry, log, auth, fetch: opts.fetch ?? fetch, now };

  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  // HSTS outside local development (browsers only honour it over https anyway).
  app.use(securityHeaders(!isLocalDev(env)));

  // For container / orchestrator probes. No login, no telemetry. `telemetry` tells the
  // pipeline's telemetry check whether OTLP export is on ("exporting").
  const telemetryState = { otlp: 'exporting', memory: 'in-memory', off: 'disabled' }[telemetry.mode];
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok', telemetry: telemetryState });
  });

  app.use(telemetry.middleware);

  // LEVEE_MAX_RUNTIME_SECONDS (deploy/ sets it when app.yaml caps run time): a per-request deadline.
  const deadlineMs = intFromEnv(env, 'LEVEE_MAX_RUNTIME_SECONDS', 0, 0, 24 * 3600) * 1000;
  if (deadlineMs > 0) {
    app.use((req, res, next) => {
      const timer = setTimeout(() => {
        if (!res.headersSent) {
          sendProblem(req, res, manifest, 503, 'Too slow', `The request took longer than ${deadlineMs / 1000} seconds.`);
        }
      }, deadlineMs);
      const clear = () => clearTimeout(timer);
      res.once('finish', clear);
      res.once('close', clear);
      next();
    });
  }

  // The rare routes that must work without login (webhook receivers that check a signature).
  await kind.registerPublicRoutes(app, ctx);
  auth.registerRoutes(app);

  // Everything else: signed-in users of the allowed groups only, with CSRF checks on forms.
  const protectedRoutes = express.Router();
  protectedRoutes.use(auth.requireUser);
  protectedRoutes.use(express.urlencoded({ extended: false, limit: MAX_BODY_BYTES }));
  protectedRoutes.use(express.json({ limit: MAX_BODY_BYTES }));
  protectedRoutes.use(auth.csrfProtection);
  await kind.registerRoutes(protectedRoutes, ctx);
  app.use(protectedRoutes);

  app.use((req, res) => sendProblem(req, res, manifest, 404, 'Not found', 'There is no such page.'));

  const onError: ErrorRequestHandler = (err, req, res, _next) => {
    const e = err as Error & { status?: number; statusCode?: number; expose?: boolean; type?: string };
    const status = e.status ?? e.statusCode ?? 500;
    if (e.type === 'entity.too.large') {
      return sendProblem(req, res, manifest, 413, 'Too large', `The request is larger than ${MAX_BODY_BYTES} bytes.`);
    }
    const span = trace.getActiveSpan();
    if (status >= 500) {
      span?.recordException(e);
      log.error('request failed', { error: e.message, stack: e.stack, trace_id: span?.spanContext().traceId });
    }
    if (res.headersSent) return;
    const message = status < 500 && e.expose ? e.message : status < 500 ? 'Bad request' : 'Something went wrong.';
    const ref = span?.spanContext().traceId;
    if (!req.accepts('html') || !(req.get('accept') ?? '').includes('text/html')) {
      return res.status(status).json({ error: message, ...(ref && status >= 500 ? { reference: ref } : {}) });
    }
    res
      .status(status)
      .type('html')
      .send(page({ title: status < 500 ? 'Request not accepted' : 'Error', manifest, body: html`<p>${message}</p>${ref && status >= 500 ? html`<p>Reference: <code>${ref}</code></p>` : ''}` }));
  };
  app.use(onError);

  return { app, ctx };
}
