// Server-side sessions. The browser only gets an opaque random id (signed
// with SESSION_SECRET); who the user is and which groups they are in stay on
// the server. No OIDC token is ever stored, in the cookie or here.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Request, Response } from 'express';
import { isLocalDev, type Env } from './config.ts';

export interface User {
  /** Stable id from the login provider ("sub" claim). */
  sub: string;
  name: string;
  email: string | null;
  groups: string[];
}

export interface PendingLogin {
  state: string;
  nonce: string;
  codeVerifier: string;
  returnTo: string;
}

export interface SessionData {
  id: string;
  createdAt: number;
  csrfToken: string;
  user: User | null;
  pendingLogin: PendingLogin | null;
}

/** Where sessions live. The built-in one is in memory; swap in a shared store to run several copies. */
export interface SessionStore {
  get(id: string): Promise<SessionData | undefined>;
  set(session: SessionData, ttlMs: number): Promise<void>;
  delete(id: string): Promise<void>;
}

export class MemorySessionStore implements SessionStore {
  #entries = new Map<string, { session: SessionData; expiresAt: number }>();
  #maxEntries: number;

  constructor(maxEntries = 10_000) {
    this.#maxEntries = maxEntries;
  }

  async get(id: string): Promise<SessionData | undefined> {
    const entry = this.#entries.get(id);
    if (!entry) return undefined;
    if (entry.expiresAt <= Date.now()) {
      this.#entries.delete(id);
      return undefined;
    }
    return entry.session;
  }

  async set(session: SessionData, ttlMs: number): Promise<void> {
    this.#entries.delete(session.id);
    this.#entries.set(session.id, { session, expiresAt: Date.now() + ttlMs });
    // Bounded memory: drop expired entries, then the oldest ones.
    if (this.#entries.size > this.#maxEntries) {
      const now = Date.now();
      for (const [id, e] of this.#entries) if (e.expiresAt <= now) this.#entries.delete(id);
      for (const id of this.#entries.keys()) {
        if (this.#entries.size <= this.#maxEntries) break;
        this.#entries.delete(id);
      }
    }
  }

  async delete(id: string): Promise<void> {
    this.#entries.delete(id);
  }

  get size(): number {
    return this.#entries.size;
  }
}

export interface SessionOptions {
  appName: string;
  secret: string;
  env: Env;
  store?: SessionStore;
  /** Signed-in sessions end after this long (SESSION_TTL_MINUTES, default 480 = 8 hours). */
  ttlMs: number;
  /** Half-finished logins are forgotten after this long. */
  pendingTtlMs?: number;
}

export interface CookieSettings {
  name: string;
  secure: boolean;
}

/** Secure, host-only cookie outside local development. */
export function cookieSettings(appName: string, env: Env): CookieSettings {
  const secure = !isLocalDev(env);
  return { name: secure ? `__Host-${appName}.sid` : `${appName}.sid`, secure };
}

export function parseCookies(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (!out.has(key)) {
      try {
        out.set(key, decodeURIComponent(value));
      } catch {
        out.set(key, value);
      }
    }
  }
  return out;
}

export const randomToken = (bytes = 32): string => randomBytes(bytes).toString('base64url');

export class SessionManager {
  readonly cookie: CookieSettings;
  #store: SessionStore;
  #secret: string;
  #ttlMs: number;
  #pendingTtlMs: number;
  #byRequest = new WeakMap<Request, SessionData | null>();

  constructor(opts: SessionOptions) {
    this.cookie = cookieSettings(opts.appName, opts.env);
    this.#store = opts.store ?? new MemorySessionStore();
    this.#secret = opts.secret;
    this.#ttlMs = opts.ttlMs;
    this.#pendingTtlMs = opts.pendingTtlMs ?? 10 * 60_000;
  }

  #sign(id: string): string {
    return createHmac('sha256', this.#secret).update(id).digest('base64url');
  }

  #unsign(value: string): string | null {
    const dot = value.lastIndexOf('.');
    if (dot <= 0) return null;
    const id = value.slice(0, dot);
    const given = Buffer.from(value.slice(dot + 1));
    const expected = Buffer.from(this.#sign(id));
    return given.length === expected.length && timingSafeEqual(given, expected) ? id : null;
  }

  /** The session for this request, or null. */
  async load(req: Request): Promise<SessionData | null> {
    if (this.#byRequest.has(req)) return this.#byRequest.get(req) ?? null;
    const raw = parseCookies(req.headers.cookie).get(this.cookie.name);
    const id = raw ? this.#unsign(raw) : null;
    const session = id ? ((await this.#store.get(id)) ?? null) : null;
    this.#byRequest.set(req, session);
    return session;
  }

  /** Start a fresh session (always a new id, so a session id can't be planted before login). */
  async create(
    req: Request,
    res: Response,
    data: { user: User | null; pendingLogin: PendingLogin | null },
  ): Promise<SessionData> {
    const session: SessionData = {
      id: randomToken(32),
      createdAt: Date.now(),
      csrfToken: randomToken(32),
      user: data.user,
      pendingLogin: data.pendingLogin,
    };
    const ttl = data.user ? this.#ttlMs : this.#pendingTtlMs;
    await this.#store.set(session, ttl);
    res.cookie(this.cookie.name, `${session.id}.${this.#sign(session.id)}`, {
      httpOnly: true,
      secure: this.cookie.secure,
      sameSite: 'lax',
      path: '/',
      // Let the cookie die with the server-side session.
      maxAge: ttl,
    });
    this.#byRequest.set(req, session);
    return session;
  }

  async destroy(req: Request, res: Response): Promise<void> {
    const session = await this.load(req);
    if (session) await this.#store.delete(session.id);
    this.#byRequest.set(req, null);
    res.clearCookie(this.cookie.name, { httpOnly: true, secure: this.cookie.secure, sameSite: 'lax', path: '/' });
  }
}
