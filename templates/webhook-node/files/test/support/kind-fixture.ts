// What the shared tests need to know about this kind of app.
export const kindFixture = {
  /** sso.groups of the test app.yaml; groups[0] is an ordinary member's group. */
  groups: ['payments-ops'],
  /** Whether this kind refuses to start without sso.groups. */
  requiresGroups: false,
  /** Extra secrets (provider env in tests) and their values. */
  secrets: {
    WEBHOOK_SIGNING_SECRET: 'whsec-test-0123456789abcdef0123456789',
    DOWNSTREAM_API_TOKEN: 'downstream-token-for-tests',
  } as Record<string, string>,
  /** Extra environment for tests (port 9 has nothing listening; tests that forward start their own fake). */
  env: { DOWNSTREAM_URL: 'http://127.0.0.1:9/events', DOWNSTREAM_RETRY_BASE_MS: '5' } as Record<string, string>,
  /** Environment for starting the real server with APP_ENV=production (test/server.test.ts). */
  productionEnv: { DOWNSTREAM_URL: 'https://ledger.example.com/events' } as Record<string, string>,
  dataAccess: [{ dataset: 'payments', access_level: 'write', purpose: 'record payment events' }],
};
