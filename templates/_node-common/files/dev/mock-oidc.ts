// A tiny OpenID Connect provider for tests and local development ONLY.
// It implements discovery, JWKS, /authorize (code flow, PKCE S256 required),
// /token (checks the PKCE code_verifier against the code_challenge), /userinfo
// (what the provider knows about the person *now*) and /end_session, signing ID
// tokens with a throw-away RSA key via `jose`. Tests can make it misbehave: sign
// with a key that is not in its JWKS, or put a wrong iss/aud/exp/nonce in the token.
// It listens on 127.0.0.1 only.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';

export interface MockUser {
  sub: string;
  name?: string;
  email?: string;
  groups?: string[];
}

export interface MockOidcOptions {
  port?: number;
  /** Expected client_id (any if omitted). */
  clientId?: string;
  /** If set, the token endpoint requires this client secret (basic or post). */
  clientSecret?: string;
  /** Claim name for groups (default "groups"). */
  groupsClaim?: string;
  /** Put groups in the ID token (default true); otherwise only /userinfo has them. */
  groupsInIdToken?: boolean;
  /** The user who "logs in" (tests). */
  user?: MockUser;
  /** Show a page to pick one of these users instead of logging in `user` directly (local dev). */
  personas?: MockUser[];
  /** Called with "METHOD /path" for each request (debugging). Redirect URIs must be http://localhost or 127.0.0.1. */
  log?: (msg: string) => void;
  /** Offer end_session_endpoint in discovery (default true). */
  endSession?: boolean;
  /** Lifetime of access tokens, in seconds (default 3600). */
  accessTokenTtlSeconds?: number;
}

export interface TokenRequestRecord {
  grantType: string | null;
  codeVerifier: string | null;
  pkceValid: boolean;
  clientAuth: 'basic' | 'post' | 'none';
}

export interface MockOidc {
  readonly issuer: string;
  /** The person who signs in next (also updates what /userinfo says about them). */
  setUser(user: MockUser): void;
  /** Change a person's groups at the provider (what /userinfo answers from now on). */
  setGroups(sub: string, groups: string[]): void;
  /** Sign ID tokens with a key that is not in the JWKS (same kid), or with the real one. */
  signWithForeignKey(on: boolean): void;
  /** Claims that replace the real ones in the next ID tokens (iss, aud, exp, nonce, ...); {} to reset. */
  overrideIdTokenClaims(claims: Record<string, unknown>): void;
  readonly authorizeRequests: URLSearchParams[];
  readonly tokenRequests: TokenRequestRecord[];
  readonly userinfoRequests: string[];
  readonly endSessionRequests: URLSearchParams[];
  close(): Promise<void>;
}

interface CodeGrant {
  clientId: string;
  redirectUri: string;
  codeChallenge: string;
  nonce: string | null;
  scope: string;
  user: MockUser;
  expiresAt: number;
}

const b64url = (buf: Buffer) => buf.toString('base64url');
export const pkceChallenge = (verifier: string): string => b64url(createHash('sha256').update(verifier).digest());

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > 64 * 1024) throw new Error('body too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

const isLoopbackRedirect = (uri: string): boolean => {
  try {
    const u = new URL(uri);
    return u.protocol === 'http:' && ['localhost', '127.0.0.1', '[::1]'].includes(u.hostname);
  } catch {
    return false;
  }
};

const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export async function startMockOidc(opts: MockOidcOptions = {}): Promise<MockOidc> {
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  const foreign = await generateKeyPair('RS256');
  let useForeignKey = false;
  let claimOverrides: Record<string, unknown> = {};
  const directory = new Map<string, MockUser>();
  const kid = randomUUID();
  const jwk = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
  const groupsClaim = opts.groupsClaim ?? 'groups';
  const codes = new Map<string, CodeGrant>();
  const accessTokens = new Map<string, string>();
  const authorizeRequests: URLSearchParams[] = [];
  const tokenRequests: TokenRequestRecord[] = [];
  const userinfoRequests: string[] = [];
  const endSessionRequests: URLSearchParams[] = [];
  let user: MockUser = opts.user ?? { sub: 'user-1', name: 'Test User', email: 'user@example.com', groups: [] };
  directory.set(user.sub, user);
  for (const p of opts.personas ?? []) directory.set(p.sub, p);
  let issuer = '';

  const json = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(JSON.stringify(body));
  };

  const issueCode = (params: URLSearchParams, who: MockUser, res: ServerResponse) => {
    const code = b64url(randomBytes(24));
    codes.set(code, {
      clientId: params.get('client_id')!,
      redirectUri: params.get('redirect_uri')!,
      codeChallenge: params.get('code_challenge')!,
      nonce: params.get('nonce'),
      scope: params.get('scope') ?? '',
      user: who,
      expiresAt: Date.now() + 60_000,
    });
    const target = new URL(params.get('redirect_uri')!);
    target.searchParams.set('code', code);
    const state = params.get('state');
    if (state !== null) target.searchParams.set('state', state);
    target.searchParams.set('iss', issuer);
    res.writeHead(302, { location: target.href });
    res.end();
  };

  const authorize = (url: URL, res: ServerResponse) => {
    const p = url.searchParams;
    authorizeRequests.push(p);
    const redirectUri = p.get('redirect_uri');
    if (!redirectUri || !isLoopbackRedirect(redirectUri)) return json(res, 400, { error: 'invalid_request', error_description: 'bad redirect_uri' });
    if (opts.clientId && p.get('client_id') !== opts.clientId) return json(res, 400, { error: 'unauthorized_client' });
    if (p.get('response_type') !== 'code') return json(res, 400, { error: 'unsupported_response_type' });
    if (!(p.get('scope') ?? '').split(' ').includes('openid')) return json(res, 400, { error: 'invalid_scope' });
    if (!p.get('code_challenge') || p.get('code_challenge_method') !== 'S256') {
      return json(res, 400, { error: 'invalid_request', error_description: 'PKCE with S256 is required' });
    }
    if (opts.personas && opts.personas.length > 0) {
      const pick = url.searchParams.get('persona');
      const persona = pick === null ? undefined : opts.personas[Number(pick)];
      if (persona) return issueCode(p, persona, res);
      const links = opts.personas
        .map((u, i) => {
          const q = new URLSearchParams(p);
          q.set('persona', String(i));
          return `<li><a href="/authorize?${escape(q.toString())}">${escape(u.name ?? u.sub)}</a> <small>groups: ${escape((u.groups ?? []).join(', ') || '(none)')}</small></li>`;
        })
        .join('');
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(`<!doctype html><title>Local fake login</title><h1>Local fake login (development only)</h1><p>Sign in as:</p><ul>${links}</ul>`);
      return;
    }
    issueCode(p, user, res);
  };

  const token = async (req: IncomingMessage, res: ServerResponse) => {
    const form = new URLSearchParams(await readBody(req));
    let clientId = form.get('client_id');
    let clientSecret = form.get('client_secret');
    let clientAuth: TokenRequestRecord['clientAuth'] = clientSecret ? 'post' : 'none';
    const authz = req.headers.authorization;
    if (authz?.startsWith('Basic ')) {
      const [id, secret] = Buffer.from(authz.slice(6), 'base64').toString('utf8').split(':');
      clientId = decodeURIComponent(id ?? '');
      clientSecret = decodeURIComponent(secret ?? '');
      clientAuth = 'basic';
    }
    const code = form.get('code') ?? '';
    const grant = codes.get(code);
    codes.delete(code); // single use
    const verifier = form.get('code_verifier');
    const pkceValid = !!grant && !!verifier && pkceChallenge(verifier) === grant.codeChallenge;
    tokenRequests.push({ grantType: form.get('grant_type'), codeVerifier: verifier, pkceValid, clientAuth });
    if (opts.clientSecret !== undefined && clientSecret !== opts.clientSecret) return json(res, 401, { error: 'invalid_client' });
    if (form.get('grant_type') !== 'authorization_code') return json(res, 400, { error: 'unsupported_grant_type' });
    if (!grant || grant.expiresAt < Date.now()) return json(res, 400, { error: 'invalid_grant', error_description: 'unknown or used code' });
    if (clientId !== grant.clientId) return json(res, 400, { error: 'invalid_grant', error_description: 'client mismatch' });
    if (form.get('redirect_uri') !== grant.redirectUri) return json(res, 400, { error: 'invalid_grant', error_description: 'redirect_uri mismatch' });
    if (!pkceValid) return json(res, 400, { error: 'invalid_grant', error_description: 'PKCE verification failed' });

    const who = directory.get(grant.user.sub) ?? grant.user;
    const now = Math.floor(Date.now() / 1000);
    const claims: Record<string, unknown> = {
      iss: issuer,
      aud: grant.clientId,
      sub: who.sub,
      iat: now,
      exp: now + 300,
      name: who.name,
      email: who.email,
    };
    if (grant.nonce) claims.nonce = grant.nonce;
    if (opts.groupsInIdToken !== false) claims[groupsClaim] = who.groups ?? [];
    Object.assign(claims, claimOverrides);
    const idToken = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', kid, typ: 'JWT' })
      .sign(useForeignKey ? foreign.privateKey : privateKey);
    const accessToken = b64url(randomBytes(24));
    accessTokens.set(accessToken, who.sub);
    const ttl = opts.accessTokenTtlSeconds ?? 3600;
    json(res, 200, { access_token: accessToken, token_type: 'Bearer', expires_in: ttl, id_token: idToken, scope: grant.scope });
  };

  const userinfo = (req: IncomingMessage, res: ServerResponse) => {
    const authz = req.headers.authorization ?? '';
    const sub = authz.startsWith('Bearer ') ? accessTokens.get(authz.slice(7)) : undefined;
    const who = sub === undefined ? undefined : directory.get(sub);
    userinfoRequests.push(sub ?? '(invalid token)');
    if (!who) return json(res, 401, { error: 'invalid_token' });
    json(res, 200, { sub: who.sub, name: who.name, email: who.email, [groupsClaim]: who.groups ?? [] });
  };

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', issuer || 'http://127.0.0.1');
    const route = `${req.method} ${url.pathname}`;
    opts.log?.(route);
    Promise.resolve()
      .then(() => {
        switch (route) {
          case 'GET /.well-known/openid-configuration':
            return json(res, 200, {
              issuer,
              authorization_endpoint: `${issuer}/authorize`,
              token_endpoint: `${issuer}/token`,
              userinfo_endpoint: `${issuer}/userinfo`,
              jwks_uri: `${issuer}/jwks`,
              ...(opts.endSession === false ? {} : { end_session_endpoint: `${issuer}/end_session` }),
              response_types_supported: ['code'],
              grant_types_supported: ['authorization_code'],
              subject_types_supported: ['public'],
              id_token_signing_alg_values_supported: ['RS256'],
              code_challenge_methods_supported: ['S256'],
              token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
              scopes_supported: ['openid', 'profile', 'email'],
              claims_supported: ['sub', 'name', 'email', groupsClaim],
              authorization_response_iss_parameter_supported: true,
            });
          case 'GET /jwks':
            return json(res, 200, { keys: [jwk] });
          case 'GET /authorize':
            return authorize(url, res);
          case 'POST /token':
            return token(req, res);
          case 'GET /userinfo':
            return userinfo(req, res);
          case 'GET /end_session': {
            endSessionRequests.push(url.searchParams);
            const back = url.searchParams.get('post_logout_redirect_uri');
            if (back && isLoopbackRedirect(back)) {
              res.writeHead(302, { location: back });
              return res.end();
            }
            res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
            return res.end('<!doctype html><title>Signed out</title><p>Signed out of the local fake login.</p>');
          }
          default:
            return json(res, 404, { error: 'not_found' });
        }
      })
      .catch((err: Error) => json(res, 500, { error: 'server_error', error_description: err.message }));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    get issuer() {
      return issuer;
    },
    setUser(u) {
      user = u;
      directory.set(u.sub, u);
    },
    setGroups(sub, groups) {
      const u = directory.get(sub);
      if (u) directory.set(sub, { ...u, groups });
    },
    signWithForeignKey(on) {
      useForeignKey = on;
    },
    overrideIdTokenClaims(c) {
      claimOverrides = { ...c };
    },
    authorizeRequests,
    tokenRequests,
    userinfoRequests,
    endSessionRequests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
