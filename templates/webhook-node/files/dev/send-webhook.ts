// Sends one signed test event to the app running locally (`npm run dev`):
//   npm run dev:send [-- '{"type":"test","id":"evt_123"}']
// Signs with WEBHOOK_SIGNING_SECRET from .env, like a real sender would.
import { sign } from '../src/signature.ts';

const secret = process.env.WEBHOOK_SIGNING_SECRET;
if (!secret) {
  console.error('WEBHOOK_SIGNING_SECRET is not set (put it in .env).');
  process.exit(1);
}
const body = process.argv[2] ?? JSON.stringify({ id: `evt_${Date.now()}`, type: 'test.event', sent_at: new Date().toISOString() });
const timestamp = String(Math.floor(Date.now() / 1000));
const url = `http://127.0.0.1:${process.env.PORT ?? 8080}${process.env.WEBHOOK_PATH ?? '/webhook'}`;
const res = await fetch(url, {
  method: 'POST',
  headers: {
    'content-type': 'application/json',
    [process.env.WEBHOOK_TIMESTAMP_HEADER ?? 'x-webhook-timestamp']: timestamp,
    [process.env.WEBHOOK_SIGNATURE_HEADER ?? 'x-webhook-signature']: sign(secret, timestamp, body),
  },
  body,
});
console.log(`${res.status} ${await res.text()}`);
