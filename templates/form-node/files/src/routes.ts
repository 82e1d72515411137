// The form: people submit requests; members of the approver group approve or
// reject them. Nobody can decide on their own request. Everything registered
// in registerRoutes() is behind company login and CSRF checks.
//
// Settings (environment):
//   FORM_APPROVER_GROUP  the group whose members approve (default: the group in
//                        app.yaml sso.groups whose name contains "approv")
//   DATA_DIR             where submissions.sqlite3 is kept (default ./data)
// JSON callers (content-type application/json, X-CSRF-Token header) get JSON answers; see
// CONTRACT.md for the shapes.
import type { Express, Request, Response, Router } from 'express';
import type { AppContext } from './app.ts';
import { csrfToken, currentUser, isMember, sendProblem } from './auth.ts';
import type { Env } from './config.ts';
import { html, page, type SafeHtml } from './html.ts';
import type { Manifest } from './manifest.ts';
import type { User } from './session.ts';
import { AlreadyDecided, SqliteStore, type Submission, type SubmissionStore } from './store.ts';
import { CATEGORIES, validateNote, validateSubmission, type Field } from './validation.ts';

export const KIND = 'form';
/** Secrets this kind needs in app.yaml (SESSION_SECRET is always needed). */
export const REQUIRED_SECRETS: string[] = [];

export function approverGroup(manifest: Manifest, env: Env): string | null {
  return env.FORM_APPROVER_GROUP?.trim() || manifest.sso.groups.find((g) => /approv/i.test(g)) || null;
}

/** Kind-specific checks of app.yaml (plain-word problems; empty = fine). */
export function checkManifest(manifest: Manifest, env: Env): string[] {
  const group = approverGroup(manifest, env);
  if (!group) {
    return [
      `a form app needs an approver group: add one such as "${manifest.team || 'my-team'}-approvers" to sso.groups ` +
        `in ${manifest.source}, or set FORM_APPROVER_GROUP`,
    ];
  }
  if (manifest.sso.groups.length > 0 && !manifest.sso.groups.includes(group)) {
    return [`FORM_APPROVER_GROUP "${group}" must also be listed in sso.groups in ${manifest.source}`];
  }
  return [];
}

/** Why `user` may not decide on `s`, or null if they may. */
export function decisionRefusal(user: User, s: Submission, approvers: string): { status: number; message: string } | null {
  if (!isMember(user, approvers)) return { status: 403, message: `Only members of ${approvers} can approve or reject.` };
  if (s.submittedBy.sub === user.sub) return { status: 403, message: "You can't approve or reject your own request." };
  if (s.status !== 'pending') return { status: 409, message: `This request is already ${s.status}.` };
  return null;
}

/** No routes without login for a form. */
export async function registerPublicRoutes(_app: Express, _ctx: AppContext): Promise<void> {}

const isJson = (req: Request) => (req.get('content-type') ?? '').toLowerCase().startsWith('application/json');

export async function registerRoutes(router: Router, ctx: AppContext): Promise<void> {
  const { manifest, env, telemetry, log } = ctx;
  const approvers = approverGroup(manifest, env)!;
  const store: SubmissionStore = SqliteStore.inDataDir(env);
  const fail = (req: Request, res: Response, status: number, message: string) =>
    sendProblem(req, res, manifest, status, 'Not done', message);

  // The business metrics of this kind.
  const submissions = telemetry.meter.createCounter('app.form.submissions', {
    description: 'Accepted form submissions',
    unit: '{submission}',
  });
  const approvals = telemetry.meter.createCounter('app.form.approvals', {
    description: 'Decisions on submissions (attribute decision = approved | rejected)',
    unit: '{decision}',
  });

  const visibleTo = (user: User): Promise<Submission[]> => store.list(isMember(user, approvers) ? undefined : user.sub);

  const render = async (
    req: Request,
    opts: { status?: number; errors?: Partial<Record<Field, string>>; values?: Partial<Record<Field, string>>; notice?: string } = {},
  ): Promise<string> => {
    const user = currentUser(req);
    const token = csrfToken(req);
    const list = await visibleTo(user);
    const v = opts.values ?? {};
    const err = (f: Field): SafeHtml | '' => (opts.errors?.[f] ? html`<div class="error">${opts.errors[f]}</div>` : '');
    const isApprover = isMember(user, approvers);
    const body = html`
${opts.notice ? html`<p class="notice">${opts.notice}</p>` : ''}
${opts.errors ? html`<p class="error">Please correct the fields marked below.</p>` : ''}
<h2>New request</h2>
<form method="post" action="/submissions">
  <input type="hidden" name="csrf_token" value="${token}">
  <label>Title <input name="title" required minlength="3" maxlength="120" value="${v.title ?? ''}"></label>${err('title')}
  <label>Amount <input name="amount" required inputmode="decimal" pattern="\\d+(\\.\\d{1,2})?" value="${v.amount ?? ''}"></label>${err('amount')}
  <label>Category <select name="category" required>
    ${CATEGORIES.map((c) => html`<option value="${c}"${v.category === c ? html` selected` : ''}>${c}</option>`)}
  </select></label>${err('category')}
  <label>Details <textarea name="details" rows="4" cols="60" maxlength="2000">${v.details ?? ''}</textarea></label>${err('details')}
  <p><button type="submit">Submit</button></p>
</form>
<h2>${isApprover ? 'All requests' : 'Your requests'}</h2>
${isApprover ? html`<p>You are an approver (${approvers}). You can't decide on your own requests.</p>` : ''}
<table>
<thead><tr><th>Title</th><th>Amount</th><th>Category</th><th>Submitted by</th><th>Submitted</th><th>Status</th><th></th></tr></thead>
<tbody>
${list.map(
  (s) => html`<tr id="s-${s.id}">
  <td>${s.title}${s.details ? html`<br><small>${s.details}</small>` : ''}</td>
  <td class="num">${s.amount}</td>
  <td>${s.category}</td>
  <td>${s.submittedBy.name}</td>
  <td>${s.submittedAt.slice(0, 16).replace('T', ' ')}</td>
  <td>${s.status}${s.decidedBy ? html`<br><small>by ${s.decidedBy.name}${s.note ? html`: ${s.note}` : ''}</small>` : ''}</td>
  <td>${
    decisionRefusal(user, s, approvers) === null
      ? html`<form method="post" action="/submissions/${s.id}/decision">
      <input type="hidden" name="csrf_token" value="${token}">
      <input name="note" maxlength="500" placeholder="note (optional)">
      <button name="decision" value="approve">Approve</button>
      <button name="decision" value="reject">Reject</button>
    </form>`
      : ''
  }</td>
</tr>`,
)}
</tbody>
</table>
${list.length === 0 ? html`<p>No requests yet.</p>` : ''}`;
    return page({ title: manifest.description || 'Requests', manifest, body, user, csrfToken: token });
  };

  router.get('/', async (req, res) => {
    const q = req.query;
    const notice =
      typeof q.created === 'string' ? 'Your request was submitted.' : typeof q.decided === 'string' ? 'Decision saved.' : undefined;
    res.type('html').send(await render(req, notice ? { notice } : {}));
  });

  router.post('/submissions', async (req, res) => {
    const user = currentUser(req);
    const result = validateSubmission(req.body);
    if (!result.ok) {
      submissions.add(1, { outcome: 'invalid' });
      if (isJson(req)) return res.status(422).json({ error: 'Please correct the fields marked below.', errors: result.errors });
      return res.status(422).type('html').send(await render(req, { errors: result.errors, values: result.values }));
    }
    const s = await store.create(result.value, user);
    submissions.add(1, { outcome: 'accepted' });
    log.info('submission created', { id: s.id, user: user.sub });
    if (isJson(req)) return res.status(201).json(s);
    res.redirect(303, `/?created=${encodeURIComponent(s.id)}`);
  });

  router.post('/submissions/:id/decision', async (req, res) => {
    const user = currentUser(req);
    const body = (req.body ?? {}) as Record<string, unknown>;
    const decision = body.decision === 'approve' ? 'approved' : body.decision === 'reject' ? 'rejected' : null;
    const note = validateNote(body.note);
    if (!decision) return fail(req, res, 400, 'Choose approve or reject.');
    if (note === null) return fail(req, res, 400, 'The note must be plain text of at most 500 characters.');
    const s = await store.get(String(req.params.id));
    if (!s) return fail(req, res, 404, 'There is no such request.');
    const refusal = decisionRefusal(user, s, approvers);
    if (refusal) return fail(req, res, refusal.status, refusal.message);
    let decided: Submission;
    try {
      decided = await store.decide(s.id, decision, user, note);
    } catch (err) {
      if (err instanceof AlreadyDecided) return fail(req, res, 409, 'Someone else decided on this request a moment ago.');
      throw err;
    }
    approvals.add(1, { decision });
    log.info('submission decided', { id: s.id, decision, user: user.sub });
    if (isJson(req)) return res.json(decided);
    res.redirect(303, `/?decided=${encodeURIComponent(s.id)}`);
  });

  router.get('/api/submissions', async (req, res) => {
    res.json({ submissions: await visibleTo(currentUser(req)) });
  });
}
