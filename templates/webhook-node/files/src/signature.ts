// Webhook signatures: HMAC-SHA256 over `${timestamp}.${raw body}`, sent as
//   X-Webhook-Timestamp: 1767225600            (unix seconds)
//   X-Webhook-Signature: sha256=<64 hex chars>
// Checked in constant time, and only within a replay window around "now".
import { createHmac, timingSafeEqual } from 'node:crypto';

export type Rejection = 'missing_signature' | 'bad_timestamp' | 'stale_timestamp' | 'bad_signature';

export type Verification = { ok: true; timestamp: number; signature: string } | { ok: false; reason: Rejection };

export function sign(secret: string, timestamp: string | number, body: Buffer | string): string {
  return `sha256=${digest(secret, String(timestamp), Buffer.from(body)).toString('hex')}`;
}

function digest(secret: string, timestamp: string, body: Buffer): Buffer {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest();
}

export interface VerifyInput {
  secret: string;
  timestamp: string | undefined;
  signature: string | undefined;
  body: Buffer;
  /** Current time, unix seconds. */
  now: number;
  toleranceSeconds: number;
}

export function verifySignature(v: VerifyInput): Verification {
  if (!v.signature) return { ok: false, reason: 'missing_signature' };
  if (!v.timestamp || !/^\d{1,12}$/.test(v.timestamp)) return { ok: false, reason: 'bad_timestamp' };
  const ts = Number(v.timestamp);
  if (Math.abs(v.now - ts) > v.toleranceSeconds) return { ok: false, reason: 'stale_timestamp' };
  const expected = digest(v.secret, v.timestamp, v.body);
  const m = /^sha256=([0-9a-f]{64})$/i.exec(v.signature.trim());
  // Always do a full-length comparison, even for malformed input.
  const given = m ? Buffer.from(m[1]!, 'hex') : Buffer.alloc(expected.length);
  const equal = timingSafeEqual(given, expected);
  if (!m || !equal) return { ok: false, reason: 'bad_signature' };
  return { ok: true, timestamp: ts, signature: m[1]!.toLowerCase() };
}

/**
 * Remembers deliveries already handled (by signature) until they leave the
 * replay window, so a captured request can't be replayed inside the window.
 * It lives in this process's memory: each replica has its own (see README,
 * "Replays"); deploy/ runs one replica.
 */
export class ReplayGuard {
  #seen = new Map<string, number>();
  #inFlight = new Set<string>();
  #max: number;

  constructor(maxEntries = 50_000) {
    this.#max = maxEntries;
  }

  /** Reserve a delivery. False if it was already handled or is being handled right now. */
  claim(signature: string, nowSeconds: number): boolean {
    this.#prune(nowSeconds);
    if (this.#seen.has(signature) || this.#inFlight.has(signature)) return false;
    this.#inFlight.add(signature);
    return true;
  }

  /** The delivery was handled: refuse it until `untilSeconds`. */
  done(signature: string, untilSeconds: number): void {
    this.#inFlight.delete(signature);
    this.#seen.set(signature, untilSeconds);
    while (this.#seen.size > this.#max) this.#seen.delete(this.#seen.keys().next().value!);
  }

  /** Handling failed: the sender may retry the same delivery. */
  release(signature: string): void {
    this.#inFlight.delete(signature);
  }

  #prune(now: number): void {
    for (const [sig, until] of this.#seen) if (until < now) this.#seen.delete(sig);
  }
}
