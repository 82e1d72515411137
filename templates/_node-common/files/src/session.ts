// Sessions, in two cookies (see CONTRACT.md, "Sign-in"):
//
// - `<app>.login` holds a sign-in in progress (state, nonce, PKCE verifier, where to go
//   afterwards) for 10 minutes, encrypted and authenticated with a key derived from
//   SESSION_SECRET. Nothing is stored on the server for it, so anonymous visitors to
//   /auth/login cost no memory and can never push a signed-in person out.
// - `<app>.sid` is an opaque random id (signed) of a server-side session, created only after a
//   successful sign-in. Who the user is and their groups stay on the server; the login
//   provider's access and ID tokens are kept there too (never in a cookie), to re-read the
//   groups and to sign out at the provider.
// Outside local development both cookies are `__Host-` prefixed, Secure, HttpOnly, SameSite=Lax.
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Request, Response } from 'express';
import { isLocalDev, type Env } from './config.ts';

export interface User {
  /** Stable id from the login provider ("sub" claim). */
  sub: string;
  name: string;
  email: string | null;
  /** The user's groups that app.yaml's sso.groups lists (all of them when it lists none). */
  groups: string[];
}

export interface PendingLogin {
  state: string;
  nonce: string;
  codeVerifier: string;
  next: string;
}

export interface SessionData {
  id: string;
  createdAt: number;
  expiresAt: number;
  csrfToken: string;
  user: User;
  /** When the groups were last read from the login provider. */
  groupsCheckedAt: number;
  /** Server-side only: to re-read the groups at the userinfo endpoint. */
  accessToken: string | null;
  accessTokenExpiresAt: number | null;
  /** Server-side only: the id_token_hint for signing out at the provider. */
  idToken: string | null;
}

/** Where sessions live. The built-in one is in memory; swap in a shared store to run several copies. */
export interface SessionStore {
  get(id: string): Promise<SessionData | undefined>;
  set(session: SessionData): Promise<void>;
  delete(id: string): Promise<void>;
}

/**
 * Sessions in memory, bounded. Only signed-in people have sessions, so anonymous traffic cannot
 * fill it; each person keeps at most `perUser` sessions (their oldest goes first), and past
 * `maxEntries` expired sessions go first, then the oldest ones.
 */
export class MemorySessionStore implements SessionStore {
  #entries = new Map<string, SessionData>();
  #maxEntries: number;
  #perUser: number;
  #now: () => number;

  constructor(opts: { maxEntries?: number; perUser?: number; now?: () => number } = {}) {
    this.#maxEntries = opts.maxEntries ?? 10_000;
    this.#perUser = opts.perUser ?? 20;
    this.#now = opts.now ?? Date.now;
  }

  async get(id: string): Promise<SessionData | undefined> {
    const s = this.#entries.get(id);
    if (!s) return undefined;
    if (s.expiresAt <= this.#now()) {
      this.#entries.delete(id);
      return undefined;
    }
    return s;
  }

  async set(session: SessionData): Promise<void> {
    this.#entries.delete(session.id);
    this.#entries.set(session.id, session);
    const mine = [...this.#entries.values()].filter((s) => s.user.sub === session.user.sub);
    for (const s of mine.slice(0, Math.max(0, mine.length - this.#perUser))) this.#entries.delete(s.id);
    if (this.#entries.size > this.#maxEntries) {
      const now = this.#now();
      for (const [id, s] of this.#entries) if (s.expiresAt <= now) this.#entries.delete(id);
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
  now?: () => number;
}

export interface CookieSettings {
  /** The session cookie. */
  name: string;
  /** The sign-in-in-progress cookie. */
  loginName: string;
  secure: boolean;
}

/** Secure, host-only cookies outside local development. */
export function cookieSettings(appName: string, env: Env): CookieSettings {
  const secure = !isLocalDev(env);
  const prefix = secure ? '__Host-' : '';
  return { name: `${prefix}${appName}.sid`, loginName: `${prefix}${appName}.login`, secure };
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

/** A sign-in in progress may take this long (the login cookie's lifetime). */
export const LOGIN_TTL_MS = 10 * 60_000;
/** The largest login cookie accepted (a real one is about 300 characters). */
const MAX_LOGIN_COOKIE = 2048;

export class SessionManager {
  readonly cookie: CookieSettings;
  #store: SessionStore;
  #signKey: Buffer;
  #loginKey: Buffer;
  #ttlMs: number;
  #now: () => number;
  #byRequest = new WeakMap<Request, SessionData | null>();

  constructor(opts: SessionOptions) {
    this.cookie = cookieSettings(opts.appName, opts.env);
    this.#now = opts.now ?? Date.now;
    this.#store = opts.store ?? new MemorySessionStore({ now: this.#now });
    // Two independent keys from SESSION_SECRET: one signs session ids, one seals login state.
    const derive = (info: string) => Buffer.from(hkdfSync('sha256', opts.secret, 'levee-session', info, 32));
    this.#signKey = derive('session-id');
    this.#loginKey = derive('login-state');
    this.#ttlMs = opts.ttlMs;
  }

  now(): number {
    return this.#now();
  }

  #sign(id: string): string {
    return createHmac('sha256', this.#signKey).update(id).digest('base64url');
  }

  #unsign(value: string): string | null {
    const dot = value.lastIndexOf('.');
    if (dot <= 0) return null;
    const id = value.slice(0, dot);
    const given = Buffer.from(value.slice(dot + 1));
    const expected = Buffer.from(this.#sign(id));
    return given.length === expected.length && timingSafeEqual(given, expected) ? id : null;
  }

  #cookieOptions(maxAge: number) {
    return { httpOnly: true, secure: this.cookie.secure, sameSite: 'lax' as const, path: '/', maxAge };
  }

  /** The signed-in session of this request, or null. */
  async load(req: Request): Promise<SessionData | null> {
    if (this.#byRequest.has(req)) return this.#byRequest.get(req) ?? null;
    const raw = parseCookies(req.headers.cookie).get(this.cookie.name);
    const id = raw ? this.#unsign(raw) : null;
    const session = id ? ((await this.#store.get(id)) ?? null) : null;
    this.#byRequest.set(req, session);
    return session;
  }

  /** Start a fresh signed-in session (always a new id, so a session id can't be planted). */
  async create(
    req: Request,
    res: Response,
    data: Omit<SessionData, 'id' | 'createdAt' | 'expiresAt' | 'csrfToken' | 'groupsCheckedAt'>,
  ): Promise<SessionData> {
    const now = this.#now();
    const session: SessionData = {
      ...data,
      id: randomToken(32),
      createdAt: now,
      expiresAt: now + this.#ttlMs,
      csrfToken: randomToken(32),
      groupsCheckedAt: now,
    };
    await this.#store.set(session);
    res.cookie(this.cookie.name, `${session.id}.${this.#sign(session.id)}`, this.#cookieOptions(this.#ttlMs));
    this.#byRequest.set(req, session);
    return session;
  }

  /** Save changes to a session (e.g. re-read groups). */
  async update(session: SessionData): Promise<void> {
    await this.#store.set(session);
  }

  /** End the session on the server and in the browser. */
  async destroy(req: Request, res: Response): Promise<void> {
    const session = await this.load(req);
    if (session) await this.#store.delete(session.id);
    this.#byRequest.set(req, null);
    res.clearCookie(this.cookie.name, { httpOnly: true, secure: this.cookie.secure, sameSite: 'lax', path: '/' });
  }

  /** Remember a sign-in in progress in the (sealed) login cookie. */
  startLogin(res: Response, pending: PendingLogin): void {
    const body = JSON.stringify({ ...pending, exp: this.#now() + LOGIN_TTL_MS });
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#loginKey, iv);
    const sealed = Buffer.concat([iv, cipher.update(body, 'utf8'), cipher.final(), cipher.getAuthTag()]);
    res.cookie(this.cookie.loginName, sealed.toString('base64url'), this.#cookieOptions(LOGIN_TTL_MS));
  }

  /** The sign-in in progress (and forget it), or null if none, expired or tampered with. */
  finishLogin(req: Request, res: Response): PendingLogin | null {
    const raw = parseCookies(req.headers.cookie).get(this.cookie.loginName);
    res.clearCookie(this.cookie.loginName, { httpOnly: true, secure: this.cookie.secure, sameSite: 'lax', path: '/' });
    if (!raw || raw.length > MAX_LOGIN_COOKIE) return null;
    try {
      const sealed = Buffer.from(raw, 'base64url');
      if (sealed.length < 12 + 16 + 2) return null;
      const decipher = createDecipheriv('aes-256-gcm', this.#loginKey, sealed.subarray(0, 12));
      decipher.setAuthTag(sealed.subarray(sealed.length - 16));
      const body = Buffer.concat([decipher.update(sealed.subarray(12, sealed.length - 16)), decipher.final()]).toString('utf8');
      const data = JSON.parse(body) as PendingLogin & { exp: number };
      if (typeof data.exp !== 'number' || data.exp <= this.#now()) return null;
      const { state, nonce, codeVerifier, next } = data;
      if (![state, nonce, codeVerifier, next].every((v) => typeof v === 'string')) return null;
      return { state, nonce, codeVerifier, next };
    } catch {
      return null;
    }
  }
}
