// Loads the dashboard's data: a CSV or JSON file, or JSON from an https URL.
// Never more than `maxBytes` (DASHBOARD_MAX_BYTES, default 10 MiB): a remote source is read as
// a stream and cut off as soon as it passes the limit, a file is measured before it is read.
import { open } from 'node:fs/promises';
import { extname } from 'node:path';
import { ConfigError, requireSecureUrl, type Env } from './config.ts';
import { parseCsv } from './csv.ts';

export type Cell = string | number | null;
export type Row = Record<string, Cell>;

export interface Dataset {
  columns: string[];
  rows: Row[];
  source: string;
  loadedAt: Date;
}

export const MAX_BYTES = 10 * 1024 * 1024;

/** The data is larger than the limit. */
export class TooLarge extends Error {
  override name = 'TooLarge';
}
const NUMBER = /^-?\d+(\.\d+)?$/;

function toCell(value: unknown): Cell {
  if (value === null || value === undefined || value === '') return null;
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  const s = String(value).trim();
  return NUMBER.test(s) ? Number(s) : s;
}

export function fromCsv(text: string): Pick<Dataset, 'columns' | 'rows'> {
  const [header, ...lines] = parseCsv(text);
  if (!header || header.length === 0) throw new Error('the CSV file is empty');
  const columns = header.map((h) => h.trim());
  if (new Set(columns).size !== columns.length || columns.some((c) => c === '')) {
    throw new Error('the CSV header must have unique, non-empty column names');
  }
  const rows = lines.map((cells, n) => {
    if (cells.length !== columns.length) throw new Error(`CSV line ${n + 2} has ${cells.length} fields, expected ${columns.length}`);
    return Object.fromEntries(columns.map((c, i) => [c, toCell(cells[i])]));
  });
  return { columns, rows };
}

export function fromJson(value: unknown): Pick<Dataset, 'columns' | 'rows'> {
  const list = Array.isArray(value) ? value : (value as { rows?: unknown } | null)?.rows;
  if (!Array.isArray(list)) throw new Error('JSON data must be a list of objects (or {"rows": [...]})');
  const columns: string[] = [];
  const rows = list.map((item, n) => {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) throw new Error(`JSON row ${n} is not an object`);
    const row: Row = {};
    for (const [k, v] of Object.entries(item)) {
      if (!columns.includes(k)) columns.push(k);
      row[k] = toCell(v);
    }
    return row;
  });
  return { columns, rows };
}

export interface LoadOptions {
  env: Env;
  fetch: typeof fetch;
  /** Bearer token for a URL source (from the secret store). */
  token?: string | null;
  timeoutMs?: number;
  maxBytes?: number;
}

/** The response body as text, reading no more than `max` bytes (then the request is aborted). */
async function readCapped(res: Response, max: number, abort: AbortController): Promise<string> {
  const declared = Number(res.headers.get('content-length') ?? NaN);
  if (declared > max) {
    abort.abort();
    throw new TooLarge(`the data source sent more than ${max} bytes`);
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (!res.body) return '';
  for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength;
    if (size > max) {
      abort.abort();
      throw new TooLarge(`the data source sent more than ${max} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** source: a file path (.csv or .json) or an https URL returning JSON. */
export async function loadDataset(source: string, opts: LoadOptions): Promise<Dataset> {
  let parsed: Pick<Dataset, 'columns' | 'rows'>;
  const max = opts.maxBytes ?? MAX_BYTES;
  if (/^https?:\/\//i.test(source)) {
    const url = requireSecureUrl(source, 'DASHBOARD_DATA_SOURCE', opts.env);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    const abort = new AbortController();
    const signal = AbortSignal.any([abort.signal, AbortSignal.timeout(opts.timeoutMs ?? 10_000)]);
    const res = await opts.fetch(url, { headers, signal, redirect: 'error' });
    if (!res.ok) {
      abort.abort();
      throw new Error(`data source ${url.host} answered HTTP ${res.status}`);
    }
    parsed = fromJson(JSON.parse(await readCapped(res, max, abort)));
  } else {
    const ext = extname(source).toLowerCase();
    if (ext !== '.csv' && ext !== '.json') throw new ConfigError('DASHBOARD_DATA_SOURCE must be a .csv or .json file or an https URL');
    const file = await open(source, 'r');
    let text: string;
    try {
      if ((await file.stat()).size > max) throw new TooLarge(`the data file is larger than ${max} bytes`);
      text = await file.readFile('utf8');
    } finally {
      await file.close();
    }
    parsed = ext === '.csv' ? fromCsv(text) : fromJson(JSON.parse(text));
  }
  return { ...parsed, source, loadedAt: new Date() };
}

/** Which column labels the bars and which one is summed. */
export function chartColumns(ds: Dataset, env: Env): { label: string; value: string } | null {
  const numeric = (c: string) => ds.rows.length > 0 && ds.rows.every((r) => r[c] === null || typeof r[c] === 'number');
  const label = env.DASHBOARD_LABEL_COLUMN?.trim() || ds.columns.find((c) => !numeric(c));
  const value = env.DASHBOARD_VALUE_COLUMN?.trim() || ds.columns.find((c) => numeric(c));
  if (!label || !value) return null;
  for (const c of [label, value]) {
    if (!ds.columns.includes(c)) throw new ConfigError(`Column "${c}" is not in the data (columns: ${ds.columns.join(', ')})`);
  }
  return { label, value };
}

/** Sum `value` per `label`, in first-seen order, at most `limit` bars. */
export function aggregate(ds: Dataset, label: string, value: string, limit = 24): Array<{ label: string; value: number }> {
  const sums = new Map<string, number>();
  for (const row of ds.rows) {
    const v = row[value];
    const key = String(row[label] ?? '(empty)');
    sums.set(key, (sums.get(key) ?? 0) + (typeof v === 'number' ? v : 0));
  }
  return [...sums].slice(0, limit).map(([l, v]) => ({ label: l, value: Math.round(v * 100) / 100 }));
}
