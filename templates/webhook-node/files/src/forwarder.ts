// Sends an accepted event to the downstream API with a bearer token, a
// timeout, trace context and an idempotency key. Never follows redirects (the
// token must only ever go to DOWNSTREAM_URL). A failed attempt (no answer, 408,
// 429 or 5xx) is retried with exponential backoff, with the same Idempotency-Key,
// at most `retries` times; each attempt is a client span of its own.
import { context, propagation, SpanKind, SpanStatusCode, type Tracer } from '@opentelemetry/api';

export interface ForwardInput {
  url: URL;
  token: string;
  body: Buffer;
  idempotencyKey: string;
  timeoutMs: number;
  fetch: typeof fetch;
  tracer: Tracer;
  /** Extra attempts after a failed one (DOWNSTREAM_RETRIES, default 2). */
  retries?: number;
  /** Wait before the first retry, doubled each time (DOWNSTREAM_RETRY_BASE_MS, default 250). */
  retryBaseMs?: number;
}

export interface ForwardResult {
  ok: boolean;
  /** HTTP status from downstream; 0 if it could not be reached. */
  status: number;
  attempts: number;
}

const retryable = (status: number) => status === 0 || status === 408 || status === 429 || status >= 500;

export async function forward(input: ForwardInput): Promise<ForwardResult> {
  const retries = input.retries ?? 2;
  const base = input.retryBaseMs ?? 250;
  let last: { ok: boolean; status: number } = { ok: false, status: 0 };
  for (let attempt = 0; attempt <= retries; attempt++) {
    if (attempt > 0) await new Promise((r) => setTimeout(r, base * 2 ** (attempt - 1) * (0.5 + Math.random() / 2)));
    last = await attemptOnce(input, attempt + 1);
    if (last.ok || !retryable(last.status)) return { ...last, attempts: attempt + 1 };
  }
  return { ...last, attempts: retries + 1 };
}

async function attemptOnce(input: ForwardInput, attempt: number): Promise<{ ok: boolean; status: number }> {
  return input.tracer.startActiveSpan(
    'POST',
    {
      kind: SpanKind.CLIENT,
      attributes: {
        'http.request.method': 'POST',
        'server.address': input.url.hostname,
        'url.full': `${input.url.origin}${input.url.pathname}`,
        ...(attempt > 1 ? { 'http.request.resend_count': attempt - 1 } : {}),
      },
    },
    async (span) => {
      const headers: Record<string, string> = {
        authorization: `Bearer ${input.token}`,
        'content-type': 'application/json',
        'idempotency-key': input.idempotencyKey,
      };
      propagation.inject(context.active(), headers);
      try {
        const res = await input.fetch(input.url, {
          method: 'POST',
          headers,
          body: input.body,
          redirect: 'error',
          signal: AbortSignal.timeout(input.timeoutMs),
        });
        await res.arrayBuffer().catch(() => undefined);
        span.setAttribute('http.response.status_code', res.status);
        if (!res.ok) span.setStatus({ code: SpanStatusCode.ERROR });
        return { ok: res.ok, status: res.status };
      } catch (err) {
        span.setAttribute('error.type', (err as Error).name);
        span.setStatus({ code: SpanStatusCode.ERROR });
        return { ok: false, status: 0 };
      } finally {
        span.end();
      }
    },
  );
}
