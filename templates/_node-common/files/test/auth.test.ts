// Login (OIDC code flow + PKCE against a fake provider), sessions, groups, CSRF.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { authSettings, safeReturnTo } from '../src/auth.ts';
import { createApp } from '../src/app.ts';
import { parseManifest } from '../src/manifest.ts';
import { createSecretStore } from '../src/secrets.ts';
import { cookieSettings } from '../src/session.ts';
import { stringify } from 'yaml';
import { kindFixture, startTestApp, testManifestDoc, type TestApp } from './support/harness.ts';

const member = { sub: 'u-mia', name: 'Mia Member', email: 'mia@example.com', groups: [kindFixture.groups[0]!] };

describe('login and sessions', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp();
  });
  after(() => t.close());

  test('GET /healthz answers without login', async () => {
    const res = await t.browser().request('/healthz');
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { status: 'ok', telemetry: 'in-memory' });
  });

  test('pages send anonymous visitors to the login', async () => {
    const res = await t.browser().request('/');
    assert.equal(res.status, 303);
    assert.equal(res.headers.get('location'), '/auth/login?returnTo=%2F');
    const post = await t.browser().request('/', { method: 'POST', form: { a: 'b' } });
    assert.equal(post.status, 401);
  });

  test('login uses the code flow with PKCE (S256) and the session cookie holds no token', async () => {
    t.oidc.setUser(member);
    const b = t.browser();
    const start = await b.request('/auth/login?returnTo=%2F');
    assert.equal(start.status, 303);
    const preLoginCookie = [...b.cookies.values()][0];
    const setCookie = start.headers.get('set-cookie') ?? '';
    assert.match(setCookie, /HttpOnly/i);
    assert.match(setCookie, /SameSite=Lax/i);

    const authorizeUrl = new URL(start.headers.get('location')!);
    assert.equal(authorizeUrl.origin, t.oidc.issuer);
    assert.equal(authorizeUrl.searchParams.get('code_challenge_method'), 'S256');
    assert.match(authorizeUrl.searchParams.get('code_challenge') ?? '', /^[A-Za-z0-9_-]{43}$/);
    assert.equal(authorizeUrl.searchParams.get('response_type'), 'code');
    assert.ok(authorizeUrl.searchParams.get('state'));
    assert.ok(authorizeUrl.searchParams.get('nonce'));

    const atProvider = await fetch(authorizeUrl, { redirect: 'manual' });
    assert.equal(atProvider.status, 302);
    const callback = await b.request(atProvider.headers.get('location')!);
    assert.equal(callback.status, 303, await callback.clone().text());
    assert.equal(callback.headers.get('location'), '/');

    const tokenCall = t.oidc.tokenRequests.at(-1)!;
    assert.equal(tokenCall.grantType, 'authorization_code');
    assert.equal(tokenCall.pkceValid, true, 'the app sent the right code_verifier');

    const cookies = [...b.cookies.entries()];
    assert.equal(cookies.length, 1);
    const [name, value] = cookies[0]!;
    assert.equal(name, 'test-app.sid');
    assert.notEqual(value, preLoginCookie, 'a new session id after login (no session fixation)');
    assert.ok(value.length < 120, 'cookie is only an opaque id');
    assert.doesNotMatch(value, /eyJ/, 'no JWT in the cookie');

    const home = await b.request('/');
    assert.equal(home.status, 200);
    assert.match(await home.text(), /Mia Member/);
  });

  test('the fake provider really checks PKCE: a wrong code_verifier is refused', async () => {
    t.oidc.setUser(member);
    const b = t.browser();
    const start = await b.request('/auth/login');
    const atProvider = await fetch(start.headers.get('location')!, { redirect: 'manual' });
    const cb = new URL(atProvider.headers.get('location')!);
    const res = await fetch(`${t.oidc.issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code: cb.searchParams.get('code')!,
        redirect_uri: `${t.baseUrl}/auth/callback`,
        client_id: 'test-client',
        code_verifier: 'x'.repeat(43),
      }),
    });
    assert.equal(res.status, 400);
    assert.equal(((await res.json()) as { error: string }).error, 'invalid_grant');
    assert.equal(t.oidc.tokenRequests.at(-1)!.pkceValid, false);
    // The code is used up, so the app's own callback fails too and nobody is signed in.
    const callback = await b.request(cb.href);
    assert.equal(callback.status, 400);
    assert.equal((await b.request('/')).status, 303);
  });

  test('a callback with a wrong state is rejected', async () => {
    const b = t.browser();
    const start = await b.request('/auth/login');
    const atProvider = await fetch(start.headers.get('location')!, { redirect: 'manual' });
    const cb = new URL(atProvider.headers.get('location')!);
    cb.searchParams.set('state', 'forged');
    assert.equal((await b.request(cb.href)).status, 400);
    assert.equal((await b.request('/')).status, 303);
  });

  test('a callback without a started login is rejected', async () => {
    const res = await t.browser().request('/auth/callback?code=abc&state=def');
    assert.equal(res.status, 400);
  });

  test('people outside the sso.groups of app.yaml get 403', async () => {
    const b = await t.loginAs({ sub: 'u-out', name: 'Otto Outsider', groups: ['some-other-team'] });
    const res = await b.request('/');
    assert.equal(res.status, 403);
    const body = await res.text();
    assert.match(body, /only for members of/);
    assert.ok(body.includes(kindFixture.groups[0]!));
  });

  test('sign-out needs the CSRF token and ends the session', async () => {
    const b = await t.loginAs(member);
    assert.equal((await b.request('/auth/logout', { form: { _csrf: 'wrong' } })).status, 403);
    assert.equal((await b.request('/')).status, 200);
    const token = await b.csrf('/');
    const out = await b.request('/auth/logout', { form: { _csrf: token } });
    assert.equal(out.status, 303);
    assert.equal(out.headers.get('location'), '/auth/logged-out');
    assert.equal((await b.request('/')).status, 303);
  });

  test('forms without the CSRF token are refused', async () => {
    const b = await t.loginAs(member);
    const res = await b.request('/', { form: { anything: '1' } });
    assert.equal(res.status, 403);
  });

  test('security headers are set on every response', async () => {
    const res = await t.browser().request('/healthz');
    assert.match(res.headers.get('content-security-policy') ?? '', /default-src 'none'/);
    assert.match(res.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/);
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(res.headers.get('x-powered-by'), null);
  });
});

describe('groups from other places', () => {
  test('groups from /userinfo under a custom claim name (OIDC_GROUPS_CLAIM)', async () => {
    const t = await startTestApp({
      oidc: { groupsInIdToken: false, groupsClaim: 'roles' },
      env: { OIDC_GROUPS_CLAIM: 'roles' },
    });
    try {
      const b = await t.loginAs(member);
      assert.equal((await b.request('/')).status, 200);
      const outsider = await t.loginAs({ ...member, sub: 'u-2', groups: ['nope'] });
      assert.equal((await outsider.request('/')).status, 403);
    } finally {
      await t.close();
    }
  });

  test('with no sso.groups in app.yaml every signed-in person may use the app, unless the kind needs groups', async () => {
    if (kindFixture.requiresGroups) {
      // Such a kind (a form needs its approver group) refuses to start, saying what to add.
      await assert.rejects(startTestApp({ manifest: { sso: { groups: [] } } }), /sso\.groups/);
      return;
    }
    const t = await startTestApp({ manifest: { sso: { groups: [] } } });
    try {
      const b = await t.loginAs({ sub: 'u-3', name: 'Any One', groups: [] });
      assert.equal((await b.request('/')).status, 200);
    } finally {
      await t.close();
    }
  });
});

describe('settings that must be safe outside development', () => {
  const manifestWith = (issuer: string) => parseManifest(stringify(testManifestDoc(issuer)));
  const noSecrets = createSecretStore(manifestWith('https://login.example.com'), {});

  test('an http login provider is refused outside development and tests', () => {
    const m = manifestWith('http://login.example.com');
    assert.throws(
      () => authSettings(m, { NODE_ENV: 'production', APP_BASE_URL: 'https://app.example.com' }, noSecrets),
      /must start with https:\/\//,
    );
    assert.equal(authSettings(m, { NODE_ENV: 'test' }, noSecrets).issuer.protocol, 'http:');
  });

  test('APP_BASE_URL is required and must be https in production', () => {
    const m = manifestWith('https://login.example.com');
    assert.throws(() => authSettings(m, { NODE_ENV: 'production' }, noSecrets), /APP_BASE_URL is not set/);
    assert.throws(
      () => authSettings(m, { NODE_ENV: 'production', APP_BASE_URL: 'http://app.example.com' }, noSecrets),
      /APP_BASE_URL must start with https/,
    );
    const s = authSettings(m, { NODE_ENV: 'production', APP_BASE_URL: 'https://app.example.com' }, noSecrets);
    assert.equal(s.redirectUri, 'https://app.example.com/auth/callback');
  });

  test('session cookies are Secure and host-only (__Host-) outside local development', () => {
    assert.deepEqual(cookieSettings('my-app', { NODE_ENV: 'production' }), { name: '__Host-my-app.sid', secure: true });
    assert.deepEqual(cookieSettings('my-app', {}), { name: '__Host-my-app.sid', secure: true });
    assert.deepEqual(cookieSettings('my-app', { NODE_ENV: 'development' }), { name: 'my-app.sid', secure: false });
  });

  test('SESSION_SECRET must be long enough', async () => {
    const m = manifestWith('http://127.0.0.1:1');
    await assert.rejects(
      createApp({ manifest: m, env: { NODE_ENV: 'test', SESSION_SECRET: 'short', ...kindFixture.secrets, ...kindFixture.env } }),
      /SESSION_SECRET must be at least 32 characters/,
    );
  });

  test('"return to" after login only goes to local paths', () => {
    assert.equal(safeReturnTo('/reports?x=1'), '/reports?x=1');
    assert.equal(safeReturnTo('//evil.example.com'), '/');
    assert.equal(safeReturnTo('https://evil.example.com'), '/');
    assert.equal(safeReturnTo('/\\evil.example.com'), '/');
    assert.equal(safeReturnTo(undefined), '/');
  });
});
