// Sends an accepted event to the downstream API with a bearer token, a
// timeout, trace context and an idempotency key. Never follows redirects (the
// token must only ever go to DOWNSTREAM_URL).
import { context, propagation, SpanKind, SpanStatusCode, type Tracer } from '@opentelemetry/api';

export interface ForwardInput {
  url: URL;
  token: string;
  body: Buffer;
  idempotencyKey: string;
  timeoutMs: number;
  fetch: typeof fetch;
  tracer: Tracer;
}

export interface ForwardResult {
  ok: boolean;
  /** HTTP status from downstream; 0 if it could not be reached. */
  status: number;
}

export async function forward(input: ForwardInput): Promise<ForwardResult> {
  return input.tracer.startActiveSpan(
    'POST',
    {
      kind: SpanKind.CLIENT,
      attributes: {
        'http.request.method': 'POST',
        'server.address': input.url.hostname,
        'url.full': `${input.url.origin}${input.url.pathname}`,
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
