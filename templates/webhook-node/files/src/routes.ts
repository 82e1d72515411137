// The webhook receiver: POST /webhook (no login; the HMAC signature is the
// check), forwarded to DOWNSTREAM_URL with a bearer token from the secret
// store. GET / is a status page behind company login.
//
// Settings (environment):
//   DOWNSTREAM_URL             where accepted events are sent (https outside development)
//   DOWNSTREAM_TIMEOUT_MS      per attempt, default 10000
//   DOWNSTREAM_RETRIES         extra attempts after a failure (no answer, 408, 429, 5xx), default 2
//   DOWNSTREAM_RETRY_BASE_MS   backoff before the first retry, doubled each time, default 250
//   WEBHOOK_PATH               default /webhook
//   WEBHOOK_TOLERANCE_SECONDS  replay window, default 300 (5 minutes)
//   WEBHOOK_MAX_BYTES          largest accepted body, default 262144 (256 KiB)
//   WEBHOOK_SIGNATURE_HEADER   default x-webhook-signature
//   WEBHOOK_TIMESTAMP_HEADER   default x-webhook-timestamp
// Secrets (app.yaml): WEBHOOK_SIGNING_SECRET (shared with the sender), DOWNSTREAM_API_TOKEN.
import express, { type ErrorRequestHandler, type Express, type RequestHandler, type Response, type Router } from 'express';
import type { Counter } from '@opentelemetry/api';
import type { AppContext } from './app.ts';
import { csrfToken, currentUser } from './auth.ts';
import { ConfigError, intFromEnv, isLocalDev, requireSecureUrl, type Env } from './config.ts';
import { forward } from './forwarder.ts';
import { html, page } from './html.ts';
import type { Manifest } from './manifest.ts';
import { ReplayGuard, verifySignature } from './signature.ts';

export const KIND = 'webhook';
/** Secrets this kind needs in app.yaml (SESSION_SECRET is always needed). */
export const REQUIRED_SECRETS = ['WEBHOOK_SIGNING_SECRET', 'DOWNSTREAM_API_TOKEN'];

export type Outcome =
  | 'forwarded'
  | 'duplicate'
  | 'rejected_signature'
  | 'rejected_timestamp'
  | 'invalid_payload'
  | 'too_large'
  | 'downstream_error';

/** Kind-specific checks of app.yaml (plain-word problems; empty = fine). */
export function checkManifest(_manifest: Manifest, _env: Env): string[] {
  return [];
}

export interface WebhookSettings {
  path: string;
  downstream: URL;
  downstreamTimeoutMs: number;
  retries: number;
  retryBaseMs: number;
  toleranceSeconds: number;
  maxBytes: number;
  signatureHeader: string;
  timestampHeader: string;
}

export function webhookSettings(env: Env): WebhookSettings {
  const raw = env.DOWNSTREAM_URL?.trim();
  if (!raw) throw new ConfigError('DOWNSTREAM_URL is not set: the API that accepted webhook events are sent to.');
  const path = env.WEBHOOK_PATH?.trim() || '/webhook';
  if (!/^\/[A-Za-z0-9/_-]*$/.test(path) || path.startsWith('/auth/') || path === '/healthz') {
    throw new ConfigError(`WEBHOOK_PATH "${path}" must be a plain path like /webhook`);
  }
  return {
    path,
    downstream: requireSecureUrl(raw, 'DOWNSTREAM_URL', env),
    downstreamTimeoutMs: intFromEnv(env, 'DOWNSTREAM_TIMEOUT_MS', 10_000, 100, 120_000),
    retries: intFromEnv(env, 'DOWNSTREAM_RETRIES', 2, 0, 5),
    retryBaseMs: intFromEnv(env, 'DOWNSTREAM_RETRY_BASE_MS', 250, 1, 10_000),
    toleranceSeconds: intFromEnv(env, 'WEBHOOK_TOLERANCE_SECONDS', 300, 1, 3600),
    maxBytes: intFromEnv(env, 'WEBHOOK_MAX_BYTES', 256 * 1024, 1, 10 * 1024 * 1024),
    signatureHeader: env.WEBHOOK_SIGNATURE_HEADER?.trim().toLowerCase() || 'x-webhook-signature',
    timestampHeader: env.WEBHOOK_TIMESTAMP_HEADER?.trim().toLowerCase() || 'x-webhook-timestamp',
  };
}

interface Recent {
  at: string;
  outcome: Outcome;
  status: number;
}

interface State {
  settings: WebhookSettings;
  events: Counter;
  counts: Map<Outcome, number>;
  recent: Recent[];
  record(outcome: Outcome, status: number): void;
}

const states = new WeakMap<AppContext, State>();

function state(ctx: AppContext): State {
  let s = states.get(ctx);
  if (!s) {
    const settings = webhookSettings(ctx.env);
    const host = settings.downstream.hostname.toLowerCase();
    if (ctx.manifest.egress.length > 0 && !isLocalDev(ctx.env) && !ctx.manifest.egress.includes(host)) {
      // The sandbox only lets the app reach runtime.egress: fail now, not at the first event.
      throw new ConfigError(
        `DOWNSTREAM_URL host ${host} is not in app.yaml's runtime.egress (${ctx.manifest.egress.join(', ')}): ` +
          'the sandbox would block it. Add it there with levee.',
      );
    }
    // The business metric of this kind.
    const events = ctx.telemetry.meter.createCounter('app.webhook.events', {
      description: 'Webhook deliveries processed, by outcome',
      unit: '{event}',
    });
    const counts = new Map<Outcome, number>();
    const recent: Recent[] = [];
    s = {
      settings,
      events,
      counts,
      recent,
      record(outcome, status) {
        events.add(1, { outcome });
        counts.set(outcome, (counts.get(outcome) ?? 0) + 1);
        recent.unshift({ at: new Date().toISOString(), outcome, status });
        recent.length = Math.min(recent.length, 20);
      },
    };
    states.set(ctx, s);
  }
  return s;
}

/** The webhook endpoint itself: no login, the signature is the authentication. */
export async function registerPublicRoutes(app: Express, ctx: AppContext): Promise<void> {
  const st = state(ctx);
  const { settings } = st;
  const guard = new ReplayGuard();

  // Every answer is {"status": <outcome>, "detail": <plain words>} (CONTRACT.md).
  const answer = (res: Response, outcome: Outcome, status: number, detail: string) => {
    st.record(outcome, status);
    res.status(status).json({ status: outcome, detail });
  };

  const receive: RequestHandler = async (req, res) => {
    const now = Math.floor(Date.now() / 1000);
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const check = verifySignature({
      secret: await ctx.secrets.getSecret('WEBHOOK_SIGNING_SECRET'),
      timestamp: req.get(settings.timestampHeader),
      signature: req.get(settings.signatureHeader),
      body,
      now,
      toleranceSeconds: settings.toleranceSeconds,
    });
    if (!check.ok) {
      ctx.log.warn('webhook rejected', { reason: check.reason });
      switch (check.reason) {
        case 'missing_signature':
          return answer(res, 'rejected_signature', 401, 'Missing signature header.');
        case 'bad_timestamp':
          return answer(res, 'rejected_timestamp', 401, 'Missing or malformed timestamp header.');
        case 'stale_timestamp':
          return answer(res, 'rejected_timestamp', 401, 'Timestamp outside the allowed window.');
        default:
          return answer(res, 'rejected_signature', 401, 'Signature does not match.');
      }
    }
    if (!guard.claim(check.signature, now)) {
      return answer(res, 'duplicate', 200, 'Already received; not forwarded again.');
    }
    try {
      if (!req.is('application/json')) throw new SyntaxError('content-type is not application/json');
      JSON.parse(body.toString('utf8'));
    } catch {
      guard.done(check.signature, check.timestamp + settings.toleranceSeconds);
      return answer(res, 'invalid_payload', 400, 'Body must be JSON (content-type application/json).');
    }
    let result: { ok: boolean; status: number; attempts: number };
    try {
      result = await forward({
        url: settings.downstream,
        token: await ctx.secrets.getSecret('DOWNSTREAM_API_TOKEN'),
        body,
        idempotencyKey: check.signature,
        timeoutMs: settings.downstreamTimeoutMs,
        fetch: ctx.fetch,
        tracer: ctx.telemetry.tracer,
        retries: settings.retries,
        retryBaseMs: settings.retryBaseMs,
      });
    } catch (err) {
      guard.release(check.signature);
      throw err;
    }
    if (!result.ok) {
      // Not remembered: the sender's retry of this same delivery is welcome.
      guard.release(check.signature);
      ctx.log.warn('downstream refused webhook event', { status: result.status, attempts: result.attempts });
      return answer(
        res,
        'downstream_error',
        502,
        result.status === 0 ? 'The downstream service could not be reached.' : `The downstream service answered ${result.status}.`,
      );
    }
    guard.done(check.signature, check.timestamp + settings.toleranceSeconds);
    answer(res, 'forwarded', 202, 'Forwarded.');
  };

  const tooLarge: ErrorRequestHandler = (err, _req, res, next) => {
    const e = err as { type?: string; status?: number };
    if (e.type === 'entity.too.large') return answer(res, 'too_large', 413, `Body larger than ${settings.maxBytes} bytes.`);
    next(err);
  };

  app.post(settings.path, express.raw({ type: () => true, limit: settings.maxBytes }), receive, tooLarge);
}

export async function registerRoutes(router: Router, ctx: AppContext): Promise<void> {
  const st = state(ctx);
  router.get('/', (req, res) => {
    const outcomes: Outcome[] = [
      'forwarded',
      'duplicate',
      'rejected_signature',
      'rejected_timestamp',
      'invalid_payload',
      'too_large',
      'downstream_error',
    ];
    const body = html`
<p>Receiving on <code>POST ${st.settings.path}</code>, forwarding to <code>${st.settings.downstream.origin}${st.settings.downstream.pathname}</code>.</p>
<h2>Since start</h2>
<table><thead><tr><th>Outcome</th><th>Events</th></tr></thead><tbody>
${outcomes.map((o) => html`<tr><td>${o}</td><td class="num">${st.counts.get(o) ?? 0}</td></tr>`)}
</tbody></table>
<h2>Last ${st.recent.length} deliveries</h2>
<table><thead><tr><th>Time (UTC)</th><th>Outcome</th><th>HTTP</th></tr></thead><tbody>
${st.recent.map((r) => html`<tr><td>${r.at}</td><td>${r.outcome}</td><td class="num">${r.status}</td></tr>`)}
</tbody></table>`;
    res.type('html').send(page({ title: ctx.manifest.description || 'Webhook', manifest: ctx.manifest, body, user: currentUser(req), csrfToken: csrfToken(req) }));
  });
}
