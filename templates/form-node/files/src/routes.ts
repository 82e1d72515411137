// The form: people submit requests; members of the approver group approve or
// reject them. Nobody can decide on their own request. Everything registered
// in registerRoutes() is behind company login and CSRF checks.
//
// Settings (environment):
//   FORM_APPROVER_GROUP  the group whose members approve (default: the group in
//                        app.yaml sso.groups whose name contains "approv")
//   FORM_DATA_FILE       JSON file to keep submissions in (default: memory only)
import type { Express, Request, Router } from 'express';
import type { AppContext } from './app.ts';
import { csrfToken, currentUser, isMember } from './auth.ts';
import { isLocalDev, type Env } from './config.ts';
import { html, page, type SafeHtml } from './html.ts';
import type { Manifest } from './manifest.ts';
import type { User } from './session.ts';
import { AlreadyDecided, JsonFileStore, MemoryStore, type Submission, type SubmissionStore } from './store.ts';
import { CATEGORIES, formatAmount, validateNote, validateSubmission, type Field } from './validation.ts';

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

export async function registerRoutes(router: Router, ctx: AppContext): Promise<void> {
  const { manifest, env, telemetry, log } = ctx;
  const approvers = approverGroup(manifest, env)!;
  const file = env.FORM_DATA_FILE?.trim();
  const store: SubmissionStore = file ? new JsonFileStore(file) : new MemoryStore();
  if (!file && !isLocalDev(env)) {
    log.warn('FORM_DATA_FILE is not set: submissions are kept in memory and lost when the app restarts');
  }

  // The business metrics of this kind.
  const submissions = telemetry.meter.createCounter('app.form.submissions', {
    description: 'Accepted form submissions',
    unit: '{submission}',
  });
  const approvals = telemetry.meter.createCounter('app.form.approvals', {
    description: 'Decisions on submissions (attribute decision = approved | rejected)',
    unit: '{decision}',
  });

  const visibleTo = async (user: User): Promise<Submission[]> => {
    const all = await store.list();
    return isMember(user, approvers) ? all : all.filter((s) => s.submittedBy.sub === user.sub);
  };

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
  <input type="hidden" name="_csrf" value="${token}">
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
  <td class="num">${formatAmount(s.amountCents)}</td>
  <td>${s.category}</td>
  <td>${s.submittedBy.name}</td>
  <td>${s.submittedAt.slice(0, 16).replace('T', ' ')}</td>
  <td>${s.status}${s.decidedBy ? html`<br><small>by ${s.decidedBy.name}${s.note ? html`: ${s.note}` : ''}</small>` : ''}</td>
  <td>${
    decisionRefusal(user, s, approvers) === null
      ? html`<form method="post" action="/submissions/${s.id}/decision">
      <input type="hidden" name="_csrf" value="${token}">
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
      return res.status(400).type('html').send(await render(req, { errors: result.errors, values: result.values }));
    }
    const s = await store.create(result.value, user);
    submissions.add(1, { category: s.category });
    log.info('submission created', { id: s.id, user: user.sub });
    res.redirect(303, `/?created=${encodeURIComponent(s.id)}`);
  });

  router.post('/submissions/:id/decision', async (req, res) => {
    const user = currentUser(req);
    const body = (req.body ?? {}) as Record<string, unknown>;
    const decision = body.decision === 'approve' ? 'approved' : body.decision === 'reject' ? 'rejected' : null;
    const note = validateNote(body.note);
    const fail = (status: number, message: string) =>
      res.status(status).type('html').send(page({ title: 'Not done', manifest, user, csrfToken: csrfToken(req), body: html`<p class="error">${message}</p><p><a href="/">Back</a></p>` }));
    if (!decision) return fail(400, 'Choose approve or reject.');
    if (note === null) return fail(400, 'The note must be plain text of at most 500 characters.');
    const s = await store.get(String(req.params.id));
    if (!s) return fail(404, 'There is no such request.');
    const refusal = decisionRefusal(user, s, approvers);
    if (refusal) return fail(refusal.status, refusal.message);
    try {
      await store.decide(s.id, decision, user, note);
    } catch (err) {
      if (err instanceof AlreadyDecided) return fail(409, 'Someone else decided on this request a moment ago.');
      throw err;
    }
    approvals.add(1, { decision });
    log.info('submission decided', { id: s.id, decision, user: user.sub });
    res.redirect(303, `/?decided=${encodeURIComponent(s.id)}`);
  });

  router.get('/api/submissions', async (req, res) => {
    res.json({ submissions: await visibleTo(currentUser(req)) });
  });
}
