// Test helpers: start the real app against a fake login provider on
// 127.0.0.1, with in-memory telemetry, and drive it like a browser.
import { randomBytes } from 'node:crypto';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { stringify } from 'yaml';
import { createApp, type AppContext } from '../../src/app.ts';
import { parseManifest, type Manifest } from '../../src/manifest.ts';
import type { SessionStore } from '../../src/session.ts';
import { initTelemetry, type Telemetry } from '../../src/telemetry.ts';
import { KIND } from '../../src/routes.ts';
import { startMockOidc, type MockOidc, type MockOidcOptions, type MockUser } from '../../dev/mock-oidc.ts';
import { kindFixture } from './kind-fixture.ts';
import { tempDir } from './tmp.ts';

export { kindFixture };

export interface TestAppOptions {
  /** Changes to the generated app.yaml (merged on top, one level deep for sso/lifecycle). */
  manifest?: Record<string, unknown>;
  /** Extra or replaced environment variables. */
  env?: Record<string, string>;
  oidc?: MockOidcOptions;
  fetch?: typeof fetch;
  sessionStore?: SessionStore;
}

export interface TestApp {
  baseUrl: string;
  oidc: MockOidc;
  manifest: Manifest;
  env: Record<string, string>;
  ctx: AppContext;
  telemetry: Telemetry;
  /** Move the app's clock forward (sessions, group refresh, caches). */
  advance(ms: number): void;
  browser(): Browser;
  /** A browser that is already signed in as `user`. */
  loginAs(user: MockUser): Promise<Browser>;
  close(): Promise<void>;
}

export const randomSecret = (): string => randomBytes(32).toString('base64url');

/** The app.yaml used by tests: prototype tier, env secrets, groups from the kind fixture. */
export function testManifestDoc(issuer: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const secrets = ['SESSION_SECRET', ...Object.keys(kindFixture.secrets)].map((name) => ({ name, provider: 'env' }));
  const base: Record<string, unknown> = {
    name: 'test-app',
    description: 'App under test',
    owner: 'owner@example.com',
    team: 'qa',
    kind: KIND,
    stack: 'node',
    classification: 'internal',
    sso: { provider: 'oidc', issuer, groups: kindFixture.groups, scopes: ['openid', 'profile', 'email'] },
    runtime: { type: 'sandboxed-container', egress: [] },
    secrets,
    data_access: kindFixture.dataAccess,
    lifecycle: { tier: 'prototype', created: '2026-01-01', expires: '2026-02-01' },
  };
  for (const [k, v] of Object.entries(overrides)) {
    const cur = base[k];
    base[k] =
      v && typeof v === 'object' && !Array.isArray(v) && cur && typeof cur === 'object' && !Array.isArray(cur)
        ? { ...(cur as object), ...(v as object) }
        : v;
  }
  return base;
}

export async function startTestApp(opts: TestAppOptions = {}): Promise<TestApp> {
  const oidc = await startMockOidc({ clientId: 'test-client', ...opts.oidc });
  const env: Record<string, string> = {
    APP_ENV: 'test',
    // The one directory the app may write to (CONTRACT.md): a fresh one per test app.
    DATA_DIR: tempDir('app-data-'),
    OIDC_CLIENT_ID: 'test-client',
    SESSION_SECRET: randomSecret(),
    ...kindFixture.secrets,
    ...kindFixture.env,
    ...opts.env,
  };
  const manifest = parseManifest(stringify(testManifestDoc(oidc.issuer, opts.manifest)), 'test app.yaml');
  const telemetry = initTelemetry({ manifest, env, mode: 'memory' });

  let server: Server | undefined;
  let ctx: AppContext;
  let offset = 0;
  const now = () => Date.now() + offset;
  try {
    // The app must know its own public URL for the login redirect, so pick the port first.
    const placeholder = await listen((_req, res) => res.end());
    const port = (placeholder.address() as AddressInfo).port;
    await closeServer(placeholder);
    env.APP_BASE_URL ??= `http://127.0.0.1:${port}`;
    env.PORT = String(port);
    const built = await createApp({
      manifest,
      env,
      telemetry,
      now,
      ...(opts.fetch ? { fetch: opts.fetch } : {}),
      ...(opts.sessionStore ? { sessionStore: opts.sessionStore } : {}),
    });
    ctx = built.ctx;
    server = await listen(built.app, port);
  } catch (err) {
    await oidc.close();
    await telemetry.shutdown();
    throw err;
  }
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const app: TestApp = {
    baseUrl,
    oidc,
    manifest,
    env,
    ctx,
    telemetry,
    advance(ms) {
      offset += ms;
    },
    browser: () => new Browser(baseUrl),
    async loginAs(user) {
      oidc.setUser(user);
      const b = new Browser(baseUrl);
      // Lands on /healthz, so signing in does not depend on the kind's own start page.
      const res = await b.follow('/auth/login?next=%2Fhealthz');
      if (res.status !== 200 && res.status !== 403) {
        throw new Error(`login as ${user.sub} ended with HTTP ${res.status}: ${await res.text()}`);
      }
      return b;
    },
    async close() {
      await closeServer(server!);
      await oidc.close();
      await telemetry.shutdown();
    },
  };
  return app;
}

export function listen(handler: RequestListener, port = 0): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer(handler);
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}

export interface RequestOptions {
  method?: string;
  form?: Record<string, string>;
  json?: unknown;
  /** A raw body (the caller sets content-type). */
  body?: string;
  headers?: Record<string, string>;
}

/** A minimal browser: keeps cookies, asks for HTML like a browser does, follows redirects only when asked. */
export class Browser {
  readonly baseUrl: string;
  readonly cookies = new Map<string, string>();

  constructor(baseUrl: string) {
    this.baseUrl = baseUrl;
  }

  async request(pathOrUrl: string, opts: RequestOptions = {}): Promise<Response> {
    const url = new URL(pathOrUrl, this.baseUrl);
    const headers: Record<string, string> = { accept: 'text/html,application/xhtml+xml,*/*;q=0.8', ...opts.headers };
    let body: string | undefined;
    if (opts.form) {
      body = new URLSearchParams(opts.form).toString();
      headers['content-type'] = 'application/x-www-form-urlencoded';
    } else if (opts.json !== undefined) {
      body = JSON.stringify(opts.json);
      headers['content-type'] = 'application/json';
    } else if (opts.body !== undefined) {
      body = opts.body;
    }
    if (url.origin === new URL(this.baseUrl).origin && this.cookies.size > 0) {
      headers.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    }
    const res = await fetch(url, { method: opts.method ?? (body ? 'POST' : 'GET'), headers, body, redirect: 'manual' });
    if (url.origin === new URL(this.baseUrl).origin) {
      for (const line of res.headers.getSetCookie()) {
        const [pair = '', ...attrs] = line.split(';');
        const eq = pair.indexOf('=');
        const name = pair.slice(0, eq).trim();
        const value = pair.slice(eq + 1).trim();
        const expired = attrs.some((a) => /^\s*max-age=0\s*$/i.test(a)) || attrs.some((a) => /^\s*expires=.*1970/i.test(a));
        if (expired || value === '') this.cookies.delete(name);
        else this.cookies.set(name, value);
      }
    }
    return res;
  }

  /** Request and follow redirects (to any origin, like a browser). */
  async follow(pathOrUrl: string, opts: RequestOptions = {}): Promise<Response> {
    let res = await this.request(pathOrUrl, opts);
    let current = new URL(pathOrUrl, this.baseUrl);
    for (let hops = 0; hops < 10 && res.status >= 300 && res.status < 400; hops++) {
      const next = new URL(res.headers.get('location') ?? '/', current);
      await res.arrayBuffer();
      current = next;
      res = await this.request(next.href);
    }
    return res;
  }

  /** GET a page and return its CSRF token. */
  async csrf(path = '/'): Promise<string> {
    const res = await this.request(path);
    const token = /name="csrf_token" value="([^"]+)"/.exec(await res.text())?.[1];
    if (!token) throw new Error(`no CSRF token on ${path} (HTTP ${res.status})`);
    return token;
  }
}
