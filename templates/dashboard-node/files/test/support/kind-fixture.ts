// What the shared tests need to know about this kind of app.
export const kindFixture = {
  /** sso.groups of the test app.yaml; groups[0] is an ordinary member's group. */
  groups: ['analysts'],
  /** Whether this kind refuses to start without sso.groups. */
  requiresGroups: false,
  /** Extra secrets (provider env in tests) and their values. */
  secrets: {} as Record<string, string>,
  /** Extra environment for tests. */
  env: {} as Record<string, string>,
  /** Environment for starting the real server with APP_ENV=production (test/server.test.ts). */
  productionEnv: { DASHBOARD_DATA_SOURCE: 'sample-data/sales.csv' } as Record<string, string>,
  dataAccess: [{ dataset: 'sales', access_level: 'read', purpose: 'monthly sales overview' }],
};
