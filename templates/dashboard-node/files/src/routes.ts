// The dashboard: one page with a bar chart and a table over one dataset.
// Everything registered in registerRoutes() is behind company login.
//
// Settings (environment):
//   DASHBOARD_DATA_SOURCE   a .csv/.json file or an https URL returning JSON.
//                           On a laptop (APP_ENV=dev) and in tests it defaults to the bundled
//                           sample-data/sales.csv; deployed, it must be set.
//   DASHBOARD_MAX_BYTES     the largest dataset read, default 10485760 (10 MiB)
//   DASHBOARD_LABEL_COLUMN  column naming the bars (default: first text column)
//   DASHBOARD_VALUE_COLUMN  column summed per bar (default: first number column)
//   DASHBOARD_CACHE_SECONDS how long data is kept before reloading (default 60)
// If app.yaml declares a secret DASHBOARD_DATA_TOKEN it is sent as a bearer
// token to the URL source.
import { resolve } from 'node:path';
import type { Express, Request, Response, Router } from 'express';
import type { AppContext } from './app.ts';
import { currentUser, csrfToken, sendProblem } from './auth.ts';
import { barChart } from './chart.ts';
import { ConfigError, intFromEnv, isLocalDev, type Env } from './config.ts';
import { aggregate, chartColumns, loadDataset, MAX_BYTES, type Dataset } from './dataset.ts';
import { html, page } from './html.ts';
import type { Manifest } from './manifest.ts';

export const KIND = 'dashboard';
/** Secrets this kind needs in app.yaml (SESSION_SECRET is always needed). */
export const REQUIRED_SECRETS: string[] = [];
const TOKEN_SECRET = 'DASHBOARD_DATA_TOKEN';
const MAX_TABLE_ROWS = 500;

/** Kind-specific checks of app.yaml (plain-word problems; empty = fine). */
export function checkManifest(_manifest: Manifest, _env: Env): string[] {
  return [];
}

/** The dataset name shown on the page and used in metrics (first data_access entry). */
export function datasetName(manifest: Manifest): string {
  return manifest.data_access[0]?.dataset ?? 'sample';
}

export function dataSource(env: Env): string {
  const configured = env.DASHBOARD_DATA_SOURCE?.trim();
  if (configured) return configured;
  if (isLocalDev(env)) return resolve(import.meta.dirname, '..', 'sample-data', 'sales.csv');
  throw new ConfigError(
    'DASHBOARD_DATA_SOURCE is not set: the file or https URL the dashboard reads its data from ' +
      '(the bundled sample data is only used with APP_ENV=dev or test).',
  );
}

/** No routes without login for a dashboard. */
export async function registerPublicRoutes(_app: Express, _ctx: AppContext): Promise<void> {}

export async function registerRoutes(router: Router, ctx: AppContext): Promise<void> {
  const { manifest, env, telemetry, log } = ctx;
  const source = dataSource(env);
  const name = datasetName(manifest);
  if (manifest.data_access.length === 0) log.warn('app.yaml lists no data_access; add the dataset this dashboard reads');
  const cacheMs = intFromEnv(env, 'DASHBOARD_CACHE_SECONDS', 60, 0, 86400) * 1000;
  const maxBytes = intFromEnv(env, 'DASHBOARD_MAX_BYTES', MAX_BYTES, 1, 1024 * 1024 * 1024);

  // The business metric of this kind.
  const views = telemetry.meter.createCounter('app.dashboard.views', {
    description: 'Dashboard page views',
    unit: '{view}',
  });

  let cached: { data: Dataset; until: number } | null = null;
  const getData = async (): Promise<Dataset> => {
    if (cached && cached.until > ctx.now()) return cached.data;
    const token = ctx.secrets.has(TOKEN_SECRET) ? await ctx.secrets.getSecret(TOKEN_SECRET) : null;
    const data = await telemetry.tracer.startActiveSpan('dashboard.load_data', async (span) => {
      try {
        const d = await loadDataset(source, { env, fetch: ctx.fetch, token, maxBytes });
        span.setAttribute('app.dataset.rows', d.rows.length);
        return d;
      } finally {
        span.end();
      }
    });
    cached = { data, until: ctx.now() + cacheMs };
    return data;
  };

  // The reason goes to the log; the page never shows file paths or hosts.
  const dataOr500 = async (req: Request, res: Response): Promise<Dataset | null> => {
    try {
      return await getData();
    } catch (err) {
      log.error('the dataset could not be loaded', { error: (err as Error).message });
      sendProblem(req, res, manifest, 500, 'No data', 'The dataset could not be loaded. The app log says why.');
      return null;
    }
  };

  router.get('/', async (req, res) => {
    const user = currentUser(req);
    const data = await dataOr500(req, res);
    if (!data) return;
    const cols = chartColumns(data, env);
    const bars = cols ? aggregate(data, cols.label, cols.value) : [];
    const shown = data.rows.slice(0, MAX_TABLE_ROWS);
    views.add(1, { dataset: name });
    const body = html`
<p>Dataset <strong>${name}</strong> · ${data.rows.length} rows · loaded ${data.loadedAt.toISOString()}</p>
${cols ? html`<h2>${cols.value} by ${cols.label}</h2>${barChart(bars, `${cols.value} by ${cols.label}`)}` : html`<p>No number column to chart.</p>`}
<h2>Data</h2>
<table>
<thead><tr>${data.columns.map((c) => html`<th>${c}</th>`)}</tr></thead>
<tbody>
${shown.map(
  (row) => html`<tr>${data.columns.map((c) => {
    const v = row[c];
    return typeof v === 'number' ? html`<td class="num">${v}</td>` : html`<td>${v ?? ''}</td>`;
  })}</tr>`,
)}
</tbody>
</table>
${data.rows.length > shown.length ? html`<p>Showing the first ${shown.length} rows.</p>` : ''}
<p><a href="/api/data">Download as JSON</a></p>`;
    res.type('html').send(page({ title: manifest.description || 'Dashboard', manifest, body, user, csrfToken: csrfToken(req) }));
  });

  router.get('/api/data', async (req, res) => {
    const data = await dataOr500(req, res);
    if (!data) return;
    res.json({ dataset: name, columns: data.columns, rows: data.rows, loadedAt: data.loadedAt.toISOString() });
  });
}
