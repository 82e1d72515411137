// Safe HTML: everything put into an html`...` template is escaped unless it
// is itself SafeHtml. Build pages only with this, never by adding strings.
import type { Manifest } from './manifest.ts';
import type { User } from './session.ts';

export class SafeHtml {
  readonly value: string;
  constructor(value: string) {
    this.value = value;
  }
  toString(): string {
    return this.value;
  }
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

function render(value: unknown): string {
  if (value === null || value === undefined || value === false) return '';
  if (value instanceof SafeHtml) return value.value;
  if (Array.isArray(value)) return value.map(render).join('');
  return escapeHtml(value);
}

export function html(strings: TemplateStringsArray, ...values: unknown[]): SafeHtml {
  let out = strings[0] ?? '';
  values.forEach((v, i) => {
    out += render(v) + (strings[i + 1] ?? '');
  });
  return new SafeHtml(out);
}

const BANNER: Record<string, string> = {
  public: '#2e7d32',
  internal: '#1565c0',
  confidential: '#ef6c00',
  restricted: '#c62828',
};

export interface PageOptions {
  title: string;
  manifest: Manifest;
  body: SafeHtml;
  user?: User | null;
  csrfToken?: string | null;
}

/** A whole page: header with the data classification, the signed-in user and a sign-out button. */
export function page(opts: PageOptions): string {
  const { manifest, user } = opts;
  const color = BANNER[manifest.classification] ?? '#455a64';
  const signOut =
    user && opts.csrfToken
      ? html`<form method="post" action="/auth/logout" class="inline">
          <input type="hidden" name="csrf_token" value="${opts.csrfToken}">
          <span>${user.name}</span> <button type="submit">Sign out</button>
        </form>`
      : '';
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${opts.title} · ${manifest.name}</title>
<style>
  body { font-family: system-ui, sans-serif; margin: 0; color: #212121; }
  header { display: flex; justify-content: space-between; align-items: center; padding: .6rem 1.2rem; background: #fafafa; border-bottom: 1px solid #ddd; }
  .banner { background: ${color}; color: #fff; padding: .2rem 1.2rem; font-size: .8rem; text-transform: uppercase; letter-spacing: .05em; }
  main { padding: 1rem 1.2rem; max-width: 70rem; }
  table { border-collapse: collapse; margin: 1rem 0; }
  th, td { border: 1px solid #ddd; padding: .3rem .6rem; text-align: left; vertical-align: top; }
  th { background: #f5f5f5; }
  .num { text-align: right; font-variant-numeric: tabular-nums; }
  .error { color: #b71c1c; }
  .notice { background: #e8f5e9; padding: .5rem; }
  .inline { display: inline; }
  label { display: block; margin-top: .6rem; }
  input, select, textarea { font: inherit; }
  footer { color: #757575; font-size: .8rem; padding: 1rem 1.2rem; }
</style>
</head>
<body>
<div class="banner">${manifest.classification} data · ${manifest.lifecycle.tier}</div>
<header><strong>${manifest.name}</strong>${signOut}</header>
<main>
<h1>${opts.title}</h1>
${opts.body}
</main>
<footer>${manifest.description}${manifest.team ? html` · owned by ${manifest.team}` : ''}</footer>
</body>
</html>
`.value;
}
