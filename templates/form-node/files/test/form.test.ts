import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { stringify } from 'yaml';
import { parseManifest } from '../src/manifest.ts';
import { checkManifest } from '../src/routes.ts';
import { SqliteStore, type Submission } from '../src/store.ts';
import { metricPoints } from '../src/telemetry.ts';
import { validateSubmission } from '../src/validation.ts';
import { startTestApp, testManifestDoc, type Browser, type TestApp } from './support/harness.ts';
import { tempDir } from './support/tmp.ts';

const sam = { sub: 'u-sam', name: 'Sam Staff', email: 'sam@example.com', groups: ['staff'] };
const alex = { sub: 'u-alex', name: 'Alex Approver', email: 'alex@example.com', groups: ['staff', 'approvers'] };
const ava = { sub: 'u-ava', name: 'Ava Approver', email: 'ava@example.com', groups: ['approvers'] };

const good = { title: 'Train to Berlin', amount: '120.50', category: 'travel', details: 'Customer visit' };

async function submit(b: Browser, fields: Record<string, string>): Promise<Response> {
  return b.request('/submissions', { form: { csrf_token: await b.csrf(), ...fields } });
}

async function list(b: Browser): Promise<Submission[]> {
  return ((await (await b.request('/api/submissions', { headers: { accept: 'application/json' } })).json()) as { submissions: Submission[] }).submissions;
}

async function decide(b: Browser, id: string, decision: string, note = ''): Promise<Response> {
  return b.request(`/submissions/${id}/decision`, { form: { csrf_token: await b.csrf(), decision, note } });
}

async function counter(t: TestApp, name: string, key: string, value: string): Promise<number> {
  const p = (await metricPoints(t.telemetry, name)).find((x) => x.attributes[key] === value);
  return (p?.value as number | undefined) ?? 0;
}

describe('form', () => {
  let t: TestApp;
  let asSam: Browser;
  let asAlex: Browser;
  let asAva: Browser;
  before(async () => {
    t = await startTestApp();
    asSam = await t.loginAs(sam);
    asAlex = await t.loginAs(alex);
    asAva = await t.loginAs(ava);
  });
  after(() => t.close());

  test('a valid submission is stored, listed and counted in app.form.submissions (outcome=accepted)', async () => {
    const res = await submit(asSam, good);
    assert.equal(res.status, 303);
    assert.match(res.headers.get('location') ?? '', /^\/\?created=/);
    const mine = await list(asSam);
    assert.equal(mine.length, 1);
    assert.equal(mine[0]!.title, 'Train to Berlin');
    assert.equal(mine[0]!.amount, '120.50');
    assert.equal(mine[0]!.status, 'pending');
    assert.equal(mine[0]!.submittedBy.name, 'Sam Staff');
    const pageText = await (await asSam.request('/?created=1')).text();
    assert.match(pageText, /Your request was submitted/);
    assert.match(pageText, /120\.50/);
    assert.equal(await counter(t, 'app.form.submissions', 'outcome', 'accepted'), 1);
  });

  test('invalid input is refused with messages, echoed safely and not stored', async () => {
    const before = (await list(asAlex)).length;
    const res = await submit(asSam, { title: '<b>' + 'x'.repeat(200), amount: '12,5', category: 'bribes', details: 'a'.repeat(2001) });
    assert.equal(res.status, 422);
    const body = await res.text();
    assert.match(body, /Title must be 3 to 120 characters/);
    assert.match(body, /Amount must be a number/);
    assert.match(body, /Category must be one of/);
    assert.match(body, /Details can be at most 2000 characters/);
    assert.ok(body.includes('value="&lt;b&gt;xxx'), 'user input is escaped');
    assert.equal((await list(asAlex)).length, before);
  });

  test('submitting needs the CSRF token', async () => {
    const res = await asSam.request('/submissions', { form: good });
    assert.equal(res.status, 403);
  });

  test('people outside the approver group cannot approve', async () => {
    await submit(asAva, { ...good, title: 'Ava laptop', category: 'equipment', amount: '999' });
    const s = (await list(asAlex)).find((x) => x.title === 'Ava laptop')!;
    const res = await decide(asSam, s.id, 'approve');
    assert.equal(res.status, 403);
    assert.match(await res.text(), /Only members of approvers can approve/);
    assert.equal((await list(asAlex)).find((x) => x.id === s.id)!.status, 'pending');
  });

  test('approvers cannot approve their own submission', async () => {
    await submit(asAlex, { ...good, title: 'Alex own trip' });
    const s = (await list(asAlex)).find((x) => x.title === 'Alex own trip')!;
    const res = await decide(asAlex, s.id, 'approve');
    assert.equal(res.status, 403);
    assert.match(await res.text(), /can&#39;t approve or reject your own request/);
    const pageText = await (await asAlex.request('/')).text();
    const row = pageText.slice(pageText.indexOf(`id="s-${s.id}"`));
    assert.ok(!row.slice(0, row.indexOf('</tr>')).includes('value="approve"'), 'no approve button on own request');
  });

  test('another approver approves; the decision is final and counted in app.form.approvals', async () => {
    const s = (await list(asAlex)).find((x) => x.title === 'Alex own trip')!;
    const avaPage = await (await asAva.request('/')).text();
    const row = avaPage.slice(avaPage.indexOf(`id="s-${s.id}"`));
    assert.ok(row.slice(0, row.indexOf('</tr>')).includes('value="approve"'), 'approve button for another approver');
    const before = await counter(t, 'app.form.approvals', 'decision', 'approved');
    const res = await decide(asAva, s.id, 'approve', 'ok for Q3');
    assert.equal(res.status, 303);
    const after = (await list(asAlex)).find((x) => x.id === s.id)!;
    assert.equal(after.status, 'approved');
    assert.equal(after.decidedBy?.name, 'Ava Approver');
    assert.equal(after.note, 'ok for Q3');
    assert.equal(await counter(t, 'app.form.approvals', 'decision', 'approved'), before + 1);
    assert.equal((await decide(asAva, s.id, 'reject')).status, 409);
  });

  test('rejecting works and is counted with decision=rejected', async () => {
    await submit(asSam, { ...good, title: 'Conference ticket', category: 'training' });
    const s = (await list(asSam)).find((x) => x.title === 'Conference ticket')!;
    assert.equal((await decide(asAlex, s.id, 'reject', 'no budget')).status, 303);
    assert.equal((await list(asSam)).find((x) => x.id === s.id)!.status, 'rejected');
    assert.equal(await counter(t, 'app.form.approvals', 'decision', 'rejected'), 1);
  });

  test('bad decisions and unknown ids are refused', async () => {
    const s = (await list(asSam)).find((x) => x.status === 'pending')!;
    assert.equal((await decide(asAlex, s.id, 'maybe')).status, 400);
    assert.equal((await decide(asAlex, '00000000-0000-0000-0000-000000000000', 'approve')).status, 404);
  });

  test('submitters see only their own requests; approvers see all', async () => {
    const mine = await list(asSam);
    assert.ok(mine.length > 0);
    assert.ok(mine.every((s) => s.submittedBy.sub === 'u-sam'));
    const all = await list(asAva);
    assert.ok(all.some((s) => s.submittedBy.sub === 'u-alex'));
    assert.ok(all.length > mine.length);
  });
});

describe('form rules', () => {
  test('amounts are parsed to cents and bounded', () => {
    const ok = validateSubmission({ ...good, amount: '0.5' });
    assert.ok(ok.ok && ok.value.amount === '0.50');
    assert.equal(validateSubmission({ ...good, amount: '0' }).ok, false);
    assert.equal(validateSubmission({ ...good, amount: '1000000.01' }).ok, false);
    assert.equal(validateSubmission({ ...good, amount: '1e3' }).ok, false);
    assert.equal(validateSubmission({ ...good, title: ['array'] }).ok, false);
    assert.equal(validateSubmission({ ...good, title: 'two\nlines' }).ok, false);
  });

  test('app.yaml needs an approver group (or FORM_APPROVER_GROUP)', () => {
    const doc = (groups: string[]) => parseManifest(stringify(testManifestDoc('https://login.example.com', { sso: { groups } })));
    assert.deepEqual(checkManifest(doc(['finance-staff', 'finance-approvers']), {}), []);
    assert.match(checkManifest(doc(['finance-staff']), {})[0] ?? '', /needs an approver group/);
    assert.deepEqual(checkManifest(doc(['finance-staff', 'leads']), { FORM_APPROVER_GROUP: 'leads' }), []);
    assert.match(checkManifest(doc(['finance-staff']), { FORM_APPROVER_GROUP: 'leads' })[0] ?? '', /must also be listed/);
  });

  test('submissions are kept in $DATA_DIR/submissions.sqlite3 across restarts, and nothing else is written', async () => {
    const dir = tempDir('form-');
    const env = { DATA_DIR: join(dir, 'data') };
    const first = SqliteStore.inDataDir(env);
    const a = await first.create({ title: 'One', amount: '1.00', category: 'other', details: '' }, { sub: 's', name: 'S' });
    await first.create({ title: 'Two', amount: '2.00', category: 'other', details: '' }, { sub: 's', name: 'S' });
    await first.decide(a.id, 'approved', { sub: 'x', name: 'X' }, '');
    first.close();
    const second = SqliteStore.inDataDir(env);
    const items = await second.list();
    assert.deepEqual(items.map((s) => [s.title, s.status]), [['Two', 'pending'], ['One', 'approved']]);
    await assert.rejects(second.decide(a.id, 'rejected', { sub: 'y', name: 'Y' }, ''), /already approved/);
    second.close();
    assert.deepEqual(readdirSync(dir, { recursive: true }).sort(), ['data', 'data/submissions.sqlite3']);
  });
});
