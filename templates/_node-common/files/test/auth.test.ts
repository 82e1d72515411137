// Login (OIDC code flow + PKCE against a fake provider), sessions, groups, CSRF.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { authSettings, safeNext } from '../src/auth.ts';
import { createApp } from '../src/app.ts';
import { parseManifest } from '../src/manifest.ts';
import { createSecretStore } from '../src/secrets.ts';
import { cookieSettings, MemorySessionStore } from '../src/session.ts';
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
    assert.equal(res.headers.get('location'), '/auth/login?next=%2F');
    const post = await t.browser().request('/', { method: 'POST', form: { a: 'b' } });
    assert.equal(post.status, 401);
    const api = await t.browser().request('/', { headers: { accept: 'application/json' } });
    assert.equal(api.status, 401);
    assert.deepEqual(await api.json(), { error: 'Sign in first.' });
  });

  test('login uses the code flow with PKCE (S256) and the session cookie holds no token', async () => {
    t.oidc.setUser(member);
    const b = t.browser();
    const start = await b.request('/auth/login?next=%2F');
    assert.equal(start.status, 303);
    assert.deepEqual([...b.cookies.keys()], ['test-app.login'], 'only the sealed login cookie before sign-in');
    const setCookie = start.headers.get('set-cookie') ?? '';
    assert.match(setCookie, /HttpOnly/i);
    assert.match(setCookie, /SameSite=Lax/i);
    assert.match(setCookie, /Max-Age=600/i);
    assert.doesNotMatch(decodeURIComponent(b.cookies.get('test-app.login')!), /state|nonce|verifier/i, 'login state is sealed');

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
    assert.equal(name, 'test-app.sid', 'the login cookie is gone, the session cookie is set');
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

  test('people outside the sso.groups of app.yaml get 403 at sign-in, and no session', async () => {
    t.oidc.setUser({ sub: 'u-out', name: 'Otto Outsider', groups: ['some-other-team'] });
    const b = t.browser();
    const res = await b.follow('/auth/login');
    assert.equal(res.status, 403);
    const body = await res.text();
    assert.match(body, /only for members of/);
    assert.ok(body.includes(kindFixture.groups[0]!));
    assert.equal(b.cookies.size, 0);
    assert.equal((await b.request('/')).status, 303);
  });

  test('sign-out needs the CSRF token and ends the session', async () => {
    const b = await t.loginAs(member);
    assert.equal((await b.request('/auth/logout', { form: { csrf_token: 'wrong' } })).status, 403);
    assert.equal((await b.request('/')).status, 200);
    const token = await b.csrf('/');
    const out = await b.request('/auth/logout', { form: { csrf_token: token } });
    assert.equal(out.status, 303);
    const endSession = new URL(out.headers.get('location')!);
    assert.equal(`${endSession.origin}${endSession.pathname}`, `${t.oidc.issuer}/end_session`, 'signed out at the provider too');
    assert.equal(endSession.searchParams.get('post_logout_redirect_uri'), `${t.baseUrl}/auth/logged-out`);
    assert.match(endSession.searchParams.get('id_token_hint') ?? '', /^eyJ/);
    assert.equal((await b.request('/')).status, 303);
  });

  test('a session cookie copied before sign-out no longer works after it', async () => {
    const b = await t.loginAs(member);
    const copy = new Map(b.cookies);
    const token = await b.csrf('/');
    assert.equal((await b.request('/auth/logout', { form: { csrf_token: token } })).status, 303);
    const thief = t.browser();
    for (const [k, v] of copy) thief.cookies.set(k, v);
    assert.equal((await thief.request('/')).status, 303);
  });

  test('anonymous sign-in starts keep nothing on the server and never push a signed-in person out', async () => {
    const store = new MemorySessionStore({ maxEntries: 5 });
    const small = await startTestApp({ sessionStore: store });
    try {
      const b = await small.loginAs(member);
      assert.equal(store.size, 1);
      for (let i = 0; i < 50; i++) assert.equal((await small.browser().request('/auth/login')).status, 303);
      assert.equal(store.size, 1, 'no server-side state for a sign-in in progress');
      assert.equal((await b.request('/')).status, 200, 'still signed in');
    } finally {
      await small.close();
    }
  });

  test('groups are read again after GROUPS_REFRESH_MINUTES: a person removed from the group loses access', async () => {
    const b = await t.loginAs({ ...member, sub: 'u-leaver' });
    assert.equal((await b.request('/')).status, 200);
    t.oidc.setGroups('u-leaver', ['some-other-team']);
    assert.equal((await b.request('/')).status, 200, 'groups are trusted for a while');
    const asked = t.oidc.userinfoRequests.length;
    t.advance(11 * 60_000);
    assert.equal((await b.request('/')).status, 403, 'after the refresh interval the new groups count');
    assert.equal(t.oidc.userinfoRequests.length, asked + 1);
  });

  test('when groups cannot be re-read (access token expired) the person signs in again', async () => {
    const b = await t.loginAs({ ...member, sub: 'u-long' });
    t.advance(2 * 60 * 60_000);
    const res = await b.request('/?x=1');
    assert.equal(res.status, 303);
    assert.equal(res.headers.get('location'), '/auth/login?next=%2F%3Fx%3D1');
    assert.ok(!b.cookies.has('test-app.sid'), 'the session ended');
  });

  test('a login cookie that was tampered with or is too old is refused', async () => {
    t.oidc.setUser(member);
    const b = t.browser();
    const start = await b.request('/auth/login');
    const atProvider = await fetch(start.headers.get('location')!, { redirect: 'manual' });
    const cb = atProvider.headers.get('location')!;
    const sealed = b.cookies.get('test-app.login')!;
    b.cookies.set('test-app.login', sealed.slice(0, -4) + (sealed.endsWith('AAAA') ? 'BBBB' : 'AAAA'));
    assert.equal((await b.request(cb)).status, 400);
    const late = t.browser();
    const again = await late.request('/auth/login');
    const back = (await fetch(again.headers.get('location')!, { redirect: 'manual' })).headers.get('location')!;
    t.advance(11 * 60_000);
    assert.equal((await late.request(back)).status, 400, 'a sign-in may take 10 minutes at most');
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
    assert.equal(res.headers.get('strict-transport-security'), null, 'no HSTS in local development and tests');
  });
});

describe('the session store', () => {
  const session = (id: string, sub: string, expiresAt: number) =>
    ({ id, createdAt: 0, expiresAt, csrfToken: 'c', user: { sub, name: sub, email: null, groups: [] }, groupsCheckedAt: 0, accessToken: null, accessTokenExpiresAt: null, idToken: null });

  test('keeps at most perUser sessions per person, dropping their oldest', async () => {
    const store = new MemorySessionStore({ maxEntries: 100, perUser: 3 });
    await store.set(session('other', 'u-2', Date.now() + 60_000));
    for (let i = 0; i < 5; i++) await store.set(session(`s${i}`, 'u-1', Date.now() + 60_000));
    assert.equal(store.size, 4);
    assert.equal(await store.get('s1'), undefined);
    assert.ok(await store.get('s2'));
    assert.ok(await store.get('other'), "another person's session is untouched");
  });

  test('past maxEntries, expired sessions go first, then the oldest', async () => {
    let now = 1_000_000;
    const store = new MemorySessionStore({ maxEntries: 3, now: () => now });
    await store.set(session('old', 'a', now + 10));
    await store.set(session('expiring', 'b', now + 1));
    await store.set(session('live', 'c', now + 1000));
    now += 5;
    await store.set(session('new', 'd', now + 1000));
    assert.equal(store.size, 3);
    assert.equal(await store.get('expiring'), undefined);
    assert.ok(await store.get('old'), 'the expired one went, not the oldest live one');
    await store.set(session('newer', 'e', now + 1000));
    assert.equal(await store.get('old'), undefined, 'then the oldest');
  });
});

describe('the ID token is verified', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp();
  });
  after(() => t.close());

  const refused = async (what: string) => {
    t.oidc.setUser(member);
    const b = t.browser();
    const res = await b.follow('/auth/login');
    assert.equal(res.status, 400, `${what}: ${res.status}`);
    assert.match(await res.text(), /sign-in could not be completed/);
    assert.ok(!b.cookies.has('test-app.sid'), `${what}: no session`);
  };

  test('a token signed by a key that is not in the provider\'s JWKS is refused', async () => {
    t.oidc.signWithForeignKey(true);
    try {
      await refused('foreign key');
    } finally {
      t.oidc.signWithForeignKey(false);
    }
  });

  for (const [what, claims] of [
    ['another issuer', { iss: 'https://evil.example.com' }],
    ['another audience', { aud: 'another-app' }],
    ['an expired token', { exp: Math.floor(Date.now() / 1000) - 600, iat: Math.floor(Date.now() / 1000) - 900 }],
    ['a wrong nonce', { nonce: 'replayed-nonce' }],
  ] as const) {
    test(`a token with ${what} is refused`, async () => {
      t.oidc.overrideIdTokenClaims(claims);
      try {
        await refused(what);
      } finally {
        t.oidc.overrideIdTokenClaims({});
      }
    });
  }

  test('the same provider, untampered, signs in', async () => {
    const b = await t.loginAs(member);
    assert.equal((await b.request('/')).status, 200);
  });
});

describe('groups from other places', () => {
  test('without end_session_endpoint, sign-out ends on the app\'s own page', async () => {
    const t = await startTestApp({ oidc: { endSession: false } });
    try {
      const b = await t.loginAs(member);
      const out = await b.request('/auth/logout', { form: { csrf_token: await b.csrf('/') } });
      assert.equal(out.headers.get('location'), '/auth/logged-out');
    } finally {
      await t.close();
    }
  });

  test('groups from /userinfo under a custom claim name (OIDC_GROUPS_CLAIM)', async () => {
    const t = await startTestApp({
      oidc: { groupsInIdToken: false, groupsClaim: 'roles' },
      env: { OIDC_GROUPS_CLAIM: 'roles' },
    });
    try {
      const b = await t.loginAs(member);
      assert.equal((await b.request('/')).status, 200);
      t.oidc.setUser({ ...member, sub: 'u-2', groups: ['nope'] });
      assert.equal((await t.browser().follow('/auth/login')).status, 403);
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
      () => authSettings(m, { APP_ENV: 'production', APP_BASE_URL: 'https://app.example.com' }, noSecrets),
      /must start with https:\/\//,
    );
    // Only "dev" and "test" are local: anything else (or nothing) is deployed.
    for (const deployed of [{}, { APP_ENV: 'development' }, { APP_ENV: 'staging' }]) {
      assert.throws(() => authSettings(m, { ...deployed, APP_BASE_URL: 'https://app.example.com' }, noSecrets), /must start with https/);
    }
    assert.equal(authSettings(m, { APP_ENV: 'test' }, noSecrets).issuer.protocol, 'http:');
  });

  test('APP_BASE_URL is required and must be https in production', () => {
    const m = manifestWith('https://login.example.com');
    assert.throws(() => authSettings(m, { APP_ENV: 'production' }, noSecrets), /APP_BASE_URL is not set/);
    assert.throws(
      () => authSettings(m, { APP_ENV: 'production', APP_BASE_URL: 'http://app.example.com' }, noSecrets),
      /APP_BASE_URL must start with https/,
    );
    const s = authSettings(m, { APP_ENV: 'production', APP_BASE_URL: 'https://app.example.com' }, noSecrets);
    assert.equal(s.redirectUri, 'https://app.example.com/auth/callback');
  });

  test('session cookies are Secure and host-only (__Host-) outside local development', () => {
    const secure = { name: '__Host-my-app.sid', loginName: '__Host-my-app.login', secure: true };
    assert.deepEqual(cookieSettings('my-app', { APP_ENV: 'production' }), secure);
    assert.deepEqual(cookieSettings('my-app', {}), secure);
    assert.deepEqual(cookieSettings('my-app', { APP_ENV: 'dev' }), { name: 'my-app.sid', loginName: 'my-app.login', secure: false });
  });

  test('SESSION_SECRET must be long enough', async () => {
    const m = manifestWith('http://127.0.0.1:1');
    await assert.rejects(
      createApp({ manifest: m, env: { APP_ENV: 'test', SESSION_SECRET: 'short', ...kindFixture.secrets, ...kindFixture.env } }),
      /SESSION_SECRET must be at least 32 characters/,
    );
  });

  test('"next" after sign-in only goes to local paths', () => {
    assert.equal(safeNext('/reports?x=1'), '/reports?x=1');
    assert.equal(safeNext('//evil.example.com'), '/');
    assert.equal(safeNext('https://evil.example.com'), '/');
    assert.equal(safeNext('/\\evil.example.com'), '/');
    assert.equal(safeNext('/auth/logout'), '/');
    assert.equal(safeNext(undefined), '/');
  });
});
