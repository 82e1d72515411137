import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, test } from 'node:test';
import { webhookSettings } from '../src/routes.ts';
import { ReplayGuard, sign, verifySignature } from '../src/signature.ts';
import { metricPoints } from '../src/telemetry.ts';
import { closeServer, kindFixture, listen, startTestApp, type TestApp } from './support/harness.ts';

const SECRET = kindFixture.secrets.WEBHOOK_SIGNING_SECRET!;
const TOKEN = kindFixture.secrets.DOWNSTREAM_API_TOKEN!;

interface Received {
  body: string;
  headers: IncomingMessage['headers'];
}

describe('webhook receiver', () => {
  let t: TestApp;
  let downstream: import('node:http').Server;
  const received: Received[] = [];
  let downstreamStatus = 200;
  /** Statuses for the next requests, before downstreamStatus applies again. */
  let nextStatuses: number[] = [];

  before(async () => {
    downstream = await listen(async (req, res) => {
      let body = '';
      for await (const chunk of req) body += chunk;
      received.push({ body, headers: req.headers });
      res.statusCode = nextStatuses.shift() ?? downstreamStatus;
      res.end('{}');
    });
    t = await startTestApp({
      env: { DOWNSTREAM_URL: `http://127.0.0.1:${(downstream.address() as AddressInfo).port}/events` },
    });
  });
  after(async () => {
    await t.close();
    await closeServer(downstream);
  });
  beforeEach(() => {
    received.length = 0;
    downstreamStatus = 200;
    nextStatuses = [];
  });

  const deliver = (body: string, opts: { ts?: number; signature?: string; contentType?: string; secret?: string } = {}) => {
    const ts = String(opts.ts ?? Math.floor(Date.now() / 1000));
    return fetch(`${t.baseUrl}/webhook`, {
      method: 'POST',
      headers: {
        'content-type': opts.contentType ?? 'application/json',
        'x-webhook-timestamp': ts,
        'x-webhook-signature': opts.signature ?? sign(opts.secret ?? SECRET, ts, body),
      },
      body,
    });
  };

  const events = async (outcome: string): Promise<number> => {
    const p = (await metricPoints(t.telemetry, 'app.webhook.events')).find((x) => x.attributes.outcome === outcome);
    return (p?.value as number | undefined) ?? 0;
  };

  test('a correctly signed event is forwarded with the bearer token from the secret store', async () => {
    const body = JSON.stringify({ id: 'evt_1', type: 'payment.succeeded', amount: 1250 });
    const before = await events('forwarded');
    const res = await deliver(body, { ts: Math.floor(Date.now() / 1000) - 10 });
    assert.equal(res.status, 202);
    assert.deepEqual(await res.json(), { status: 'forwarded', detail: 'Forwarded.' });
    assert.equal(received.length, 1);
    assert.equal(received[0]!.body, body, 'the raw body is forwarded unchanged');
    assert.equal(received[0]!.headers.authorization, `Bearer ${TOKEN}`);
    assert.match(String(received[0]!.headers.traceparent), /^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/);
    assert.match(String(received[0]!.headers['idempotency-key']), /^[0-9a-f]{64}$/);
    assert.equal(await events('forwarded'), before + 1);
  });

  test('no login is needed for the webhook, but the status page needs one', async () => {
    assert.equal((await t.browser().request('/')).status, 303);
    const b = await t.loginAs({ sub: 'u-ops', name: 'Olga Ops', groups: ['payments-ops'] });
    const page = await (await b.request('/')).text();
    assert.match(page, /POST \/webhook/);
    assert.match(page, /<td>forwarded<\/td><td class="num">[1-9]/);
  });

  test('a wrong signature, a wrong secret or a changed body is rejected and not forwarded', async () => {
    const body = JSON.stringify({ id: 'evt_2' });
    const before = await events('rejected_signature');
    assert.equal((await deliver(body, { signature: 'sha256=' + '0'.repeat(64) })).status, 401);
    assert.equal((await deliver(body, { secret: 'not-the-secret' })).status, 401);
    assert.equal((await deliver(body, { signature: 'sha256=abc' })).status, 401);
    const ts = Math.floor(Date.now() / 1000);
    const tampered = await deliver(JSON.stringify({ id: 'evt_2', amount: 1e9 }), { ts, signature: sign(SECRET, ts, body) });
    assert.equal(tampered.status, 401);
    assert.deepEqual(await tampered.json(), { status: 'rejected_signature', detail: 'Signature does not match.' });
    assert.equal(received.length, 0);
    assert.equal(await events('rejected_signature'), before + 4);
  });

  test('old or future timestamps are outside the replay window', async () => {
    const body = JSON.stringify({ id: 'evt_3' });
    const now = Math.floor(Date.now() / 1000);
    const old = await deliver(body, { ts: now - 301 });
    assert.equal(old.status, 401);
    assert.deepEqual(await old.json(), { status: 'rejected_timestamp', detail: 'Timestamp outside the allowed window.' });
    // A minute past the window: 301 seconds ahead could be judged 300 ahead (inside) when a
    // second ticks over between taking `now` and the request.
    assert.equal((await deliver(body, { ts: now + 360 })).status, 401);
    assert.equal(received.length, 0);
    assert.ok((await events('rejected_timestamp')) >= 2);
  });

  test('a replayed delivery is answered but not forwarded twice', async () => {
    const body = JSON.stringify({ id: 'evt_4' });
    const ts = Math.floor(Date.now() / 1000);
    assert.equal((await deliver(body, { ts })).status, 202);
    const again = await deliver(body, { ts });
    assert.equal(again.status, 200);
    assert.equal(((await again.json()) as { status: string }).status, 'duplicate');
    assert.equal(received.length, 1);
    assert.equal(await events('duplicate'), 1);
  });

  test('a failed forward is retried with backoff and the same Idempotency-Key before 502', async () => {
    const body = JSON.stringify({ id: 'evt_5' });
    const ts = Math.floor(Date.now() / 1000);
    downstreamStatus = 503;
    const first = await deliver(body, { ts });
    assert.equal(first.status, 502);
    assert.deepEqual(await first.json(), { status: 'downstream_error', detail: 'The downstream service answered 503.' });
    assert.equal(received.length, 3, 'one attempt and DOWNSTREAM_RETRIES=2 retries');
    assert.equal(new Set(received.map((r) => r.headers['idempotency-key'])).size, 1, 'one key for all attempts');
    assert.equal(await events('downstream_error'), 1);
    // The sender's own retry of the same delivery is welcome (not a duplicate).
    downstreamStatus = 200;
    assert.equal((await deliver(body, { ts })).status, 202);
    assert.equal(received.length, 4);
  });

  test('a passing downstream hiccup is absorbed by the retry; a 4xx is not retried', async () => {
    nextStatuses = [503, 429];
    const res = await deliver(JSON.stringify({ id: 'evt_6' }));
    assert.equal(res.status, 202);
    assert.equal(received.length, 3);
    received.length = 0;
    nextStatuses = [400];
    assert.equal((await deliver(JSON.stringify({ id: 'evt_7' }))).status, 502);
    assert.equal(received.length, 1, 'a 400 will not get better by retrying');
  });

  test('signed bodies that are not JSON are refused', async () => {
    assert.equal((await deliver('not json')).status, 400);
    assert.equal((await deliver('{"a":1}', { contentType: 'text/plain' })).status, 400);
    assert.equal(received.length, 0);
    assert.equal(await events('invalid_payload'), 2);
  });

  test('bodies over WEBHOOK_MAX_BYTES are refused', async () => {
    const res = await deliver(JSON.stringify({ pad: 'x'.repeat(300 * 1024) }));
    assert.equal(res.status, 413);
    assert.equal(await events('too_large'), 1);
  });
});

describe('signatures and settings', () => {
  test('sign/verify round trip, case-insensitive hex, missing headers', () => {
    const body = Buffer.from('{"x":1}');
    const sig = sign('s3cret', 1000, body);
    const base = { secret: 's3cret', timestamp: '1000', body, now: 1100, toleranceSeconds: 300 };
    assert.deepEqual(verifySignature({ ...base, signature: sig }), { ok: true, timestamp: 1000, signature: sig.slice(7) });
    assert.equal(verifySignature({ ...base, signature: sig.toUpperCase().replace('SHA256', 'sha256') }).ok, true);
    assert.deepEqual(verifySignature({ ...base, signature: undefined }), { ok: false, reason: 'missing_signature' });
    assert.deepEqual(verifySignature({ ...base, timestamp: undefined, signature: sig }), { ok: false, reason: 'bad_timestamp' });
    assert.deepEqual(verifySignature({ ...base, timestamp: '1e3', signature: sig }), { ok: false, reason: 'bad_timestamp' });
    assert.deepEqual(verifySignature({ ...base, now: 1301, signature: sig }), { ok: false, reason: 'stale_timestamp' });
  });

  test('the replay guard forgets deliveries once they leave the window', () => {
    const g = new ReplayGuard();
    assert.equal(g.claim('a', 100), true);
    assert.equal(g.claim('a', 100), false, 'in flight');
    g.done('a', 400);
    assert.equal(g.claim('a', 399), false, 'handled');
    assert.equal(g.claim('a', 401), true, 'outside the window again');
    g.release('a');
    assert.equal(g.claim('a', 401), true);
  });

  test('DOWNSTREAM_URL is required and must be https outside development', () => {
    assert.throws(() => webhookSettings({}), /DOWNSTREAM_URL is not set/);
    assert.throws(() => webhookSettings({ NODE_ENV: 'production', DOWNSTREAM_URL: 'http://ledger.example.com' }), /must start with https/);
    assert.equal(webhookSettings({ NODE_ENV: 'production', DOWNSTREAM_URL: 'https://ledger.example.com/e' }).toleranceSeconds, 300);
    assert.throws(() => webhookSettings({ DOWNSTREAM_URL: 'https://x', WEBHOOK_PATH: '/auth/x' }), /WEBHOOK_PATH/);
  });
});
