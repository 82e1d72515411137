// Company sign-in (OpenID Connect, authorization code flow with PKCE) and
// group checks. The ID token's signature (against the provider's JWKS), issuer,
// audience, expiry and nonce are all verified. See CONTRACT.md, "Sign-in".
import { timingSafeEqual } from 'node:crypto';
import express, { type Express, type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import * as oidc from 'openid-client';
import { ConfigError, intFromEnv, isLocalDev, requireSecureUrl, type Env } from './config.ts';
import { html, page } from './html.ts';
import type { Logger } from './log.ts';
import { resolveIssuer, type Manifest } from './manifest.ts';
import type { SecretStore } from './secrets.ts';
import { SessionManager, type SessionData, type SessionStore, type User } from './session.ts';

export interface AuthSettings {
  issuer: URL;
  clientId: string;
  /** Name of the OIDC secret in app.yaml, if the app is a confidential client. */
  clientSecretName: string | null;
  clientAuthMethod: 'client_secret_basic' | 'client_secret_post';
  baseUrl: URL;
  redirectUri: string;
  scopes: string[];
  /** Claim holding the user's groups (OIDC_GROUPS_CLAIM, default "groups"). */
  groupsClaim: string;
  /** Groups allowed to use the app (app.yaml sso.groups). Empty = any signed-in user. */
  allowedGroups: string[];
  sessionTtlMs: number;
  /** How long groups read at sign-in are trusted before they are read again (GROUPS_REFRESH_MINUTES). */
  groupsRefreshMs: number;
}

/** Read and check the login settings. Throws ConfigError with a readable message. */
export function authSettings(manifest: Manifest, env: Env, secrets: SecretStore): AuthSettings {
  const issuer = requireSecureUrl(resolveIssuer(manifest, env), 'The OIDC issuer', env);
  const port = env.PORT?.trim() || '8080';
  const base = env.APP_BASE_URL?.trim() || (isLocalDev(env) ? `http://localhost:${port}` : '');
  if (!base) {
    throw new ConfigError('APP_BASE_URL is not set: the public https address of this app, e.g. https://my-app.apps.example.com');
  }
  const baseUrl = requireSecureUrl(base, 'APP_BASE_URL', env);
  const method = env.OIDC_CLIENT_AUTH_METHOD?.trim() || 'client_secret_basic';
  if (method !== 'client_secret_basic' && method !== 'client_secret_post') {
    throw new ConfigError('OIDC_CLIENT_AUTH_METHOD must be client_secret_basic or client_secret_post');
  }
  return {
    issuer,
    clientId: env.OIDC_CLIENT_ID?.trim() || manifest.name,
    clientSecretName: secrets.has('OIDC_CLIENT_SECRET') ? 'OIDC_CLIENT_SECRET' : null,
    clientAuthMethod: method,
    baseUrl,
    redirectUri: new URL('/auth/callback', baseUrl).href,
    scopes: manifest.sso.scopes,
    groupsClaim: env.OIDC_GROUPS_CLAIM?.trim() || 'groups',
    allowedGroups: manifest.sso.groups,
    sessionTtlMs: intFromEnv(env, 'SESSION_TTL_MINUTES', 480, 1, 7 * 24 * 60) * 60_000,
    groupsRefreshMs: intFromEnv(env, 'GROUPS_REFRESH_MINUTES', 10, 1, 24 * 60) * 60_000,
  };
}

/** Only local paths are allowed as "next" targets after sign-in (no open redirects). */
export function safeNext(value: unknown): string {
  if (typeof value !== 'string' || !value.startsWith('/') || value.startsWith('//') || value.includes('\\')) return '/';
  if (/[\u0000-\u001f\u007f]/.test(value) || value.startsWith('/auth/')) return '/';
  return value;
}

function readGroups(value: unknown): string[] | null {
  if (Array.isArray(value)) return value.filter((g): g is string => typeof g === 'string');
  if (typeof value === 'string') return value.split(/[\s,]+/).filter(Boolean);
  return null;
}

const requestSessions = new WeakMap<Request, SessionData>();

/** The signed-in user. Only valid behind requireUser. */
export function currentUser(req: Request): User {
  const user = requestSessions.get(req)?.user;
  if (!user) throw new Error('currentUser() used on a route that is not behind requireUser');
  return user;
}

/** The CSRF token to put in a hidden "csrf_token" field of every form that POSTs. */
export function csrfToken(req: Request): string {
  const token = requestSessions.get(req)?.csrfToken;
  if (!token) throw new Error('csrfToken() used on a route that is not behind requireUser');
  return token;
}

export function isMember(user: User, group: string): boolean {
  return user.groups.includes(group);
}

/** Does this request want a page (a browser navigating) rather than JSON? */
export function wantsHtml(req: Request): boolean {
  return (req.get('accept') ?? '').includes('text/html');
}

/** An error answer: an HTML page for browsers, {"error": message} for everything else. */
export function sendProblem(req: Request, res: Response, manifest: Manifest, status: number, title: string, message: string, link = true): void {
  if (!wantsHtml(req)) {
    res.status(status).json({ error: message });
    return;
  }
  res
    .status(status)
    .type('html')
    .send(page({ title, manifest, body: html`<p>${message}</p>${link ? html`<p><a href="/">Back to the start page</a></p>` : ''}` }));
}

export interface AuthOptions {
  manifest: Manifest;
  env: Env;
  secrets: SecretStore;
  log: Logger;
  sessionSecret: string;
  sessionStore?: SessionStore;
  /** The clock (tests move it forward). */
  now?: () => number;
}

export interface Auth {
  readonly settings: AuthSettings;
  readonly sessions: SessionManager;
  /** Adds /auth/login, /auth/callback, /auth/logout and /auth/logged-out. */
  registerRoutes(app: Express): void;
  /** Requires a signed-in user who is in one of app.yaml's sso.groups (if any are listed). */
  requireUser: RequestHandler;
  /** Requires membership of one specific group (use after requireUser). */
  requireGroup(group: string): RequestHandler;
  /** Rejects POST/PUT/PATCH/DELETE without the session's CSRF token. */
  csrfProtection: RequestHandler;
}

export function createAuth(opts: AuthOptions): Auth {
  const { manifest, env, secrets, log } = opts;
  const settings = authSettings(manifest, env, secrets);
  if (opts.sessionSecret.length < 32) {
    throw new ConfigError(
      'SESSION_SECRET must be at least 32 characters long. Make one with: ' +
        `node -e "console.log(require('node:crypto').randomBytes(32).toString('base64url'))"`,
    );
  }
  const sessions = new SessionManager({
    appName: manifest.name,
    secret: opts.sessionSecret,
    env,
    ttlMs: settings.sessionTtlMs,
    ...(opts.now ? { now: opts.now } : {}),
    ...(opts.sessionStore ? { store: opts.sessionStore } : {}),
  });
  // Only the groups this app uses are kept (all of them when app.yaml lists none).
  const appGroups = (groups: string[]) =>
    settings.allowedGroups.length === 0 ? groups : groups.filter((g) => settings.allowedGroups.includes(g));
  const allowed = (user: User) => settings.allowedGroups.length === 0 || user.groups.length > 0;

  // Discovery happens on the first sign-in, and is retried if it failed, so a
  // login-provider outage never stops the app (or its health check) from starting.
  let configPromise: Promise<oidc.Configuration> | null = null;
  const getConfig = (): Promise<oidc.Configuration> => {
    configPromise ??= (async () => {
      const secret = settings.clientSecretName ? await secrets.getSecret(settings.clientSecretName) : undefined;
      const clientAuth = secret
        ? settings.clientAuthMethod === 'client_secret_post'
          ? oidc.ClientSecretPost(secret)
          : oidc.ClientSecretBasic(secret)
        : oidc.None();
      return oidc.discovery(settings.issuer, settings.clientId, undefined, clientAuth, {
        timeout: 10,
        execute: [
          // Verify the ID token's signature against the provider's JWKS (openid-client skips it otherwise).
          oidc.enableNonRepudiationChecks,
          // http is refused by requireSecureUrl outside development and tests.
          ...(settings.issuer.protocol === 'http:' ? [oidc.allowInsecureRequests] : []),
        ],
      });
    })().catch((err: unknown) => {
      configPromise = null;
      throw err;
    });
    return configPromise;
  };

  const problem = (req: Request, res: Response, status: number, title: string, message: string, link = true) =>
    sendProblem(req, res, manifest, status, title, message, link);

  const login: RequestHandler = async (req, res) => {
    const next = safeNext(req.query.next);
    if (await freshSession(req, res)) return res.redirect(303, next);
    let config: oidc.Configuration;
    try {
      config = await getConfig();
    } catch (err) {
      log.error('login provider discovery failed', { issuer: settings.issuer.href, error: (err as Error).message });
      return problem(req, res, 503, 'Sign-in unavailable', 'The company login service could not be reached. Please try again in a minute.');
    }
    const codeVerifier = oidc.randomPKCECodeVerifier();
    const codeChallenge = await oidc.calculatePKCECodeChallenge(codeVerifier);
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    sessions.startLogin(res, { state, nonce, codeVerifier, next });
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: settings.redirectUri,
      scope: settings.scopes.join(' '),
      code_challenge: codeChallenge,
      code_challenge_method: 'S256',
      state,
      nonce,
    });
    res.redirect(303, url.href);
  };

  const callback: RequestHandler = async (req, res) => {
    const pending = sessions.finishLogin(req, res);
    if (!pending) {
      return problem(req, res, 400, 'Sign-in expired', 'Your sign-in took too long or was started in another browser. Please try again.');
    }
    // The callback URL as the login provider called it: our public redirect URI plus its query.
    const currentUrl = new URL(settings.redirectUri);
    currentUrl.search = new URL(req.originalUrl, settings.baseUrl).search;
    let user: User;
    let tokens: oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers;
    try {
      const config = await getConfig();
      tokens = await oidc.authorizationCodeGrant(config, currentUrl, {
        pkceCodeVerifier: pending.codeVerifier,
        expectedState: pending.state,
        expectedNonce: pending.nonce,
        idTokenExpected: true,
      });
      const claims = tokens.claims()!;
      let groups = readGroups(claims[settings.groupsClaim]);
      let info: Record<string, unknown> = {};
      if (groups === null && config.serverMetadata().userinfo_endpoint) {
        info = await oidc.fetchUserInfo(config, tokens.access_token, claims.sub);
        groups = readGroups(info[settings.groupsClaim]);
      }
      const pick = (k: string): string | null => {
        const v = claims[k] ?? info[k];
        return typeof v === 'string' && v !== '' ? v : null;
      };
      user = {
        sub: claims.sub,
        name: pick('name') ?? pick('preferred_username') ?? pick('email') ?? claims.sub,
        email: pick('email'),
        groups: appGroups(groups ?? []),
      };
    } catch (err) {
      const e = err as Error & { code?: string; error?: string };
      log.warn('sign-in failed', { error: e.message, code: e.code ?? e.error ?? null });
      return problem(req, res, 400, 'Sign-in failed', 'The sign-in could not be completed. Please try again.');
    }
    await sessions.destroy(req, res);
    if (!allowed(user)) {
      log.info('sign-in refused: not in sso.groups', { user: user.sub });
      return problem(
        req,
        res,
        403,
        'No access',
        `You are signed in as ${user.name}, but this app is only for members of: ${settings.allowedGroups.join(', ')}. ` +
          'Ask the app owner to add you to one of these groups.',
        false,
      );
    }
    const now = sessions.now();
    await sessions.create(req, res, {
      user,
      accessToken: tokens.access_token,
      accessTokenExpiresAt: typeof tokens.expires_in === 'number' ? now + tokens.expires_in * 1000 : null,
      idToken: tokens.id_token ?? null,
    });
    log.info('user signed in', { user: user.sub });
    res.redirect(303, pending.next);
  };

  /**
   * The session, with groups no older than GROUPS_REFRESH_MINUTES: past that they are read
   * again at the userinfo endpoint; if that is not possible (no endpoint, token expired, provider
   * unreachable, no groups claim) the session ends and the person signs in again.
   */
  const freshSession = async (req: Request, res: Response): Promise<SessionData | null> => {
    const session = await sessions.load(req);
    if (!session) return null;
    const now = sessions.now();
    if (now - session.groupsCheckedAt < settings.groupsRefreshMs) return session;
    try {
      const expired = session.accessTokenExpiresAt !== null && session.accessTokenExpiresAt <= now;
      if (!session.accessToken || expired) throw new Error('access token expired');
      const config = await getConfig();
      if (!config.serverMetadata().userinfo_endpoint) throw new Error('no userinfo endpoint');
      const info = await oidc.fetchUserInfo(config, session.accessToken, session.user.sub);
      const groups = readGroups(info[settings.groupsClaim]);
      if (groups === null) throw new Error(`userinfo has no ${settings.groupsClaim} claim`);
      session.user = { ...session.user, groups: appGroups(groups) };
      session.groupsCheckedAt = now;
      await sessions.update(session);
      return session;
    } catch (err) {
      log.info('groups could not be re-read; the session ends', { user: session.user.sub, reason: (err as Error).message });
      await sessions.destroy(req, res);
      return null;
    }
  };

  const checkCsrf = (req: Request, session: SessionData): boolean => {
    const body = req.body as Record<string, unknown> | undefined;
    const given = (typeof body?.csrf_token === 'string' ? body.csrf_token : undefined) ?? req.get('x-csrf-token');
    if (typeof given !== 'string') return false;
    const a = Buffer.from(given);
    const b = Buffer.from(session.csrfToken);
    return a.length === b.length && timingSafeEqual(a, b);
  };

  const logout: RequestHandler = async (req, res) => {
    const session = await sessions.load(req);
    if (!session) return res.redirect(303, '/auth/logged-out');
    if (!checkCsrf(req, session)) {
      return problem(req, res, 403, 'Not allowed', 'This sign-out request did not come from this app.');
    }
    await sessions.destroy(req, res);
    log.info('user signed out', { user: session.user.sub });
    // End the session at the login provider too, when it offers RP-initiated logout.
    let target = '/auth/logged-out';
    try {
      const config = await getConfig();
      if (config.serverMetadata().end_session_endpoint) {
        target = oidc.buildEndSessionUrl(config, {
          post_logout_redirect_uri: new URL('/auth/logged-out', settings.baseUrl).href,
          ...(session.idToken ? { id_token_hint: session.idToken } : {}),
        }).href;
      }
    } catch (err) {
      log.warn('could not reach the login provider to sign out there', { error: (err as Error).message });
    }
    res.redirect(303, target);
  };

  const requireUser: RequestHandler = async (req, res, next) => {
    const session = await freshSession(req, res);
    if (!session) {
      if ((req.method === 'GET' || req.method === 'HEAD') && wantsHtml(req)) {
        return res.redirect(303, `/auth/login?next=${encodeURIComponent(safeNext(req.originalUrl))}`);
      }
      return res.status(401).json({ error: 'Sign in first.' });
    }
    if (!allowed(session.user)) {
      return problem(
        req,
        res,
        403,
        'No access',
        `You are signed in as ${session.user.name}, but this app is only for members of: ${settings.allowedGroups.join(', ')}. ` +
          'Ask the app owner to add you to one of these groups.',
        false,
      );
    }
    requestSessions.set(req, session);
    next();
  };

  const requireGroup = (group: string): RequestHandler => (req: Request, res: Response, next: NextFunction) => {
    if (!isMember(currentUser(req), group)) {
      return problem(req, res, 403, 'Not allowed', `Only members of ${group} can do this.`, false);
    }
    next();
  };

  const csrfProtection: RequestHandler = (req, res, next) => {
    if (req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS') return next();
    const session = requestSessions.get(req);
    if (!session || !checkCsrf(req, session)) {
      return problem(req, res, 403, 'Not allowed', 'This request did not come from a page of this app (missing or wrong CSRF token). Reload the page and try again.');
    }
    next();
  };

  return {
    settings,
    sessions,
    requireUser,
    requireGroup,
    csrfProtection,
    registerRoutes(app) {
      app.get('/auth/login', login);
      app.get('/auth/callback', callback);
      app.post('/auth/logout', express.urlencoded({ extended: false, limit: '4kb' }), logout);
      app.get('/auth/logged-out', (_req, res) => {
        res.type('html').send(page({ title: 'Signed out', manifest, body: html`<p>You are signed out of this app.</p><p><a href="/auth/login">Sign in again</a></p>` }));
      });
    },
  };
}
