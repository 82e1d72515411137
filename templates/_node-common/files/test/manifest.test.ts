import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadManifest, parseManifest, resolveIssuer } from '../src/manifest.ts';
import { tempDir } from './support/tmp.ts';

const FULL = `
name: expense-quick-submit
description: Submit employee expenses
owner: finance.jdoe@acme.corp
team: finance
kind: form
stack: node
classification: internal
sso: {provider: oidc, issuer: "https://login.acme.corp", groups: [finance-approvers], scopes: [profile, email]}
runtime: {type: sandboxed-container, cpu_limit: 0.25, mem_limit: 256Mi, max_runtime_minutes: 60, egress: [api.payments.acme.corp]}
secrets: [{name: PAYMENT_API_KEY, provider: vault}]
data_access: [{dataset: expenses, access_level: write, purpose: submit employee expenses}]
lifecycle: {tier: prototype, created: 2026-03-01, expires: 2026-04-01}
cost: {center: CC-1234, estimated_monthly_usd: 40}
ci: github
template: {id: form-node, version: 1.0.0, source: builtin}
`;

test('reads a complete app.yaml', () => {
  const m = parseManifest(FULL);
  assert.equal(m.name, 'expense-quick-submit');
  assert.equal(m.classification, 'internal');
  assert.equal(m.lifecycle.tier, 'prototype');
  assert.equal(m.lifecycle.created, '2026-03-01');
  assert.deepEqual(m.sso, {
    provider: 'oidc',
    issuer: 'https://login.acme.corp',
    groups: ['finance-approvers'],
    scopes: ['openid', 'profile', 'email'],
  });
  assert.deepEqual(m.secrets, [{ name: 'PAYMENT_API_KEY', provider: 'vault' }]);
  assert.deepEqual(m.data_access, [{ dataset: 'expenses', access_level: 'write', purpose: 'submit employee expenses' }]);
  assert.deepEqual(m.egress, ['api.payments.acme.corp']);
});

test('"sso: oidc" shorthand takes the issuer from OIDC_ISSUER', () => {
  const m = parseManifest(FULL.replace(/^sso: .*$/m, 'sso: oidc'));
  assert.equal(m.sso.issuer, null);
  assert.deepEqual(m.sso.groups, []);
  assert.deepEqual(m.sso.scopes, ['openid', 'profile', 'email']);
  assert.equal(resolveIssuer(m, { OIDC_ISSUER: 'https://sso.example.com' }), 'https://sso.example.com');
  assert.throws(() => resolveIssuer(m, {}), /OIDC_ISSUER is not set/);
});

test('app.yaml issuer wins over OIDC_ISSUER, except on a developer laptop', () => {
  const m = parseManifest(FULL);
  assert.equal(resolveIssuer(m, { OIDC_ISSUER: 'https://other.example.com', APP_ENV: 'production' }), 'https://login.acme.corp');
  assert.equal(resolveIssuer(m, { OIDC_ISSUER: 'http://127.0.0.1:9400', APP_ENV: 'dev' }), 'http://127.0.0.1:9400');
});

test('lists every problem in plain words', () => {
  const bad = FULL.replace('name: expense-quick-submit', 'name: Bad Name')
    .replace('tier: prototype', 'tier: forever')
    .replace('provider: vault', 'provider: sticky-note');
  assert.throws(() => parseManifest(bad, 'app.yaml'), (err: Error) => {
    assert.match(err.message, /^app.yaml has problems/);
    assert.match(err.message, /name must be/);
    assert.match(err.message, /lifecycle.tier must be one of prototype, sandbox, production/);
    assert.match(err.message, /PAYMENT_API_KEY\): provider must be one of vault, aws-secrets-manager, env/);
    return true;
  });
});

test('sso is required', () => {
  assert.throws(() => parseManifest(FULL.replace(/^sso: .*$/m, '')), /sso is required/);
});

test('LEVEE_MANIFEST chooses the file; a missing file gives a clear message', () => {
  const dir = tempDir('manifest-');
  writeFileSync(join(dir, 'custom.yaml'), FULL);
  assert.equal(loadManifest({ LEVEE_MANIFEST: join(dir, 'custom.yaml') }).name, 'expense-quick-submit');
  assert.throws(() => loadManifest({ LEVEE_MANIFEST: join(dir, 'nope.yaml') }), /Cannot read the app manifest/);
});
