// What the shared tests need to know about this kind of app.
export const kindFixture = {
  /** sso.groups of the test app.yaml; groups[0] is an ordinary member's group. */
  groups: ['staff', 'approvers'],
  /** Whether this kind refuses to start without sso.groups (it needs an approver group). */
  requiresGroups: true,
  /** Extra secrets (provider env in tests) and their values. */
  secrets: {} as Record<string, string>,
  /** Extra environment for tests. */
  env: {} as Record<string, string>,
  /** Environment for starting the real server with APP_ENV=production (test/server.test.ts). */
  productionEnv: {} as Record<string, string>,
  dataAccess: [{ dataset: 'expenses', access_level: 'write', purpose: 'submit employee expenses' }],
};
