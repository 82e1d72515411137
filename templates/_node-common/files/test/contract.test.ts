// The shared HTTP contract (contract/cases.json): the same cases the Python apps run, driven
// over HTTP against this app. See the "about" field of the case file for the step language.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { IncomingHttpHeaders } from 'node:http';
import { KIND } from '../src/routes.ts';
import { closeServer, kindFixture, listen, startTestApp, testManifestDoc, type Browser, type TestApp } from './support/harness.ts';
import { tempDir } from './support/tmp.ts';

type Json = unknown;
type Step = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
interface Case {
  name: string;
  steps: Step[];
}
interface StartupCase {
  name: string;
  manifest?: Record<string, unknown>;
  env?: Record<string, string>;
  secrets_dir?: { omit?: string[]; empty?: string[] };
  error_has: string[];
}
interface CaseFile {
  kinds: Record<string, { groups: string[]; data_access: unknown[] }>;
  people: Record<string, { sub: string; name: string; email: string; groups: string[] }>;
  cases: Record<string, Case[]>;
  startup: Record<string, StartupCase[]>;
}

const file = JSON.parse(readFileSync('contract/cases.json', 'utf8')) as CaseFile;
const kind = file.kinds[KIND]!;
const SIGNING_SECRET = kindFixture.secrets.WEBHOOK_SIGNING_SECRET ?? '';

function person(name: string) {
  const p = file.people[name];
  assert.ok(p, `unknown person ${name}`);
  const groups = p.groups.map((g) => (g === '@member' ? kind.groups[0]! : g === '@approver' ? (kind.groups[1] ?? 'no-approver-group') : g));
  return { ...p, groups };
}

const pad = (value: unknown): unknown =>
  typeof value === 'string' && value.startsWith('@pad:') ? 'x'.repeat(Number(value.slice(5))) : value;

/** Partial deep match: objects by their listed keys, arrays element by element, and placeholders. */
function matches(expected: Json, actual: Json, where: string): void {
  if (expected === '<uuid>') return assert.match(String(actual), /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, where);
  if (expected === '<iso-time>') return assert.match(String(actual), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/, where);
  if (Array.isArray(expected)) {
    assert.ok(Array.isArray(actual), `${where}: not a list`);
    assert.equal(actual.length, expected.length, `${where}: length`);
    expected.forEach((e, i) => matches(e, (actual as Json[])[i], `${where}/${i}`));
    return;
  }
  if (expected !== null && typeof expected === 'object') {
    assert.ok(actual !== null && typeof actual === 'object' && !Array.isArray(actual), `${where}: not an object`);
    for (const [k, v] of Object.entries(expected)) matches(v, (actual as Record<string, Json>)[k], `${where}/${k}`);
    return;
  }
  assert.deepEqual(actual, expected, where);
}

function pointer(doc: Json, path: string): Json {
  if (path === '') return doc;
  return path
    .split('/')
    .slice(1)
    .reduce<Json>((cur, key) => (cur as Record<string, Json> | undefined)?.[key.replace(/~1/g, '/').replace(/~0/g, '~')], doc);
}

function setCookieNames(res: Response): string[] {
  return res.headers
    .getSetCookie()
    .map((line) => {
      const [pair = '', ...attrs] = line.split(';');
      const [name = '', value = ''] = pair.split('=');
      const expired = value.trim() === '' || attrs.some((a) => /^\s*max-age=0\s*$/i.test(a) || /expires=.*1970/i.test(a));
      return expired ? '' : name.trim();
    })
    .filter(Boolean)
    .sort();
}

interface Downstream {
  url: string;
  received: Array<{ body: string; headers: IncomingHttpHeaders }>;
  queue: number[];
  close(): Promise<void>;
}

async function startDownstream(): Promise<Downstream> {
  const received: Downstream['received'] = [];
  const queue: number[] = [];
  const server = await listen(async (req, res) => {
    let body = '';
    for await (const chunk of req) body += chunk;
    received.push({ body, headers: req.headers });
    res.statusCode = queue.shift() ?? 200;
    res.end('{}');
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/events`, received, queue, close: () => closeServer(server) };
}

const manifestOverrides = () => ({ sso: { groups: kind.groups }, data_access: kind.data_access });

async function runCase(c: Case): Promise<void> {
  const downstream = (KIND as string) === 'webhook' ? await startDownstream() : null;
  const t: TestApp = await startTestApp({
    manifest: manifestOverrides(),
    env: downstream ? { DOWNSTREAM_URL: downstream.url } : {},
  });
  const browsers = new Map<string, Browser>();
  const saved: Record<string, string> = {};
  let lastTimestamp = '';
  const browser = (name: string) => {
    if (!browsers.has(name)) browsers.set(name, t.browser());
    return browsers.get(name)!;
  };
  const fill = async (value: unknown, who: string): Promise<unknown> => {
    if (typeof value !== 'string') return value;
    let out = value.replaceAll('{issuer}', t.oidc.issuer).replace(/\{saved\.(\w+)\}/g, (_m, k: string) => saved[k] ?? '');
    if (out.includes('{csrf}')) out = out.replaceAll('{csrf}', await browser(who).csrf('/'));
    return pad(out);
  };
  const fillAll = async (obj: Record<string, unknown> | undefined, who: string) =>
    obj ? Object.fromEntries(await Promise.all(Object.entries(obj).map(async ([k, v]) => [k, await fill(v, who)]))) : undefined;
  try {
    for (const [i, step] of c.steps.entries()) {
      const where = `step ${i + 1}`;
      if (step.advance_seconds !== undefined) {
        t.advance(step.advance_seconds * 1000);
        continue;
      }
      if (step.idp_groups) {
        for (const [who, groups] of Object.entries(step.idp_groups as Record<string, string[]>)) t.oidc.setGroups(person(who).sub, groups);
        continue;
      }
      if (step.downstream) {
        downstream!.queue.push(...(step.downstream as number[]));
        continue;
      }
      const who = step.as as string;
      const b = browser(who);
      let res: Response;
      if (step.login) {
        t.oidc.setUser(person(who));
        const start = await b.request('/auth/login?next=%2Fhealthz');
        assert.equal(start.status, 303, `${where}: sign-in start`);
        const atProvider = await fetch(start.headers.get('location')!, { redirect: 'manual' });
        res = await b.request(atProvider.headers.get('location')!);
      } else {
        const headers: Record<string, string> = {
          accept: step.accept === 'json' ? 'application/json' : 'text/html,application/xhtml+xml,*/*;q=0.8',
          ...((await fillAll(step.headers, who)) as Record<string, string>),
        };
        let body: string | undefined;
        if (step.form) {
          body = new URLSearchParams((await fillAll(step.form, who)) as Record<string, string>).toString();
          headers['content-type'] = 'application/x-www-form-urlencoded';
        } else if (step.json !== undefined) {
          body = JSON.stringify(Array.isArray(step.json) || typeof step.json !== 'object' ? step.json : await fillAll(step.json, who));
          headers['content-type'] = 'application/json';
        } else if (step.body !== undefined) {
          body = String(pad(step.body));
        }
        if (step.sign) {
          const s = step.sign as { secret?: string; signature?: string; offset_seconds?: number; timestamp?: string; same_timestamp?: boolean };
          const ts = s.timestamp ?? (s.same_timestamp ? lastTimestamp : String(Math.floor(Date.now() / 1000) + (s.offset_seconds ?? 0)));
          lastTimestamp = ts;
          // Only webhook apps sign (src/signature.ts is theirs): imported by name, at run time.
          const { sign } = (await import('../src/signature.ts' as string)) as { sign: (s: string, t: string, b: string) => string };
          headers['x-webhook-timestamp'] = ts;
          if (s.signature !== 'omit') headers['x-webhook-signature'] = sign(s.secret === 'wrong' ? 'not-the-secret' : SIGNING_SECRET, ts, body ?? '');
        }
        res = await b.request((await fill(step.path, who)) as string, { method: step.method, headers, ...(body !== undefined ? { body } : {}) });
      }
      const expect = (step.expect ?? (step.login ? { status: 303 } : {})) as Record<string, any>;
      const text = await res.text();
      const json = (() => {
        try {
          return JSON.parse(text) as Json;
        } catch {
          return undefined;
        }
      })();
      const ctx = `${where} (${step.method ?? 'login'} ${step.path ?? ''}): ${text.slice(0, 300)}`;
      if (expect.status !== undefined) assert.equal(res.status, expect.status, ctx);
      if (expect.location !== undefined) assert.equal(res.headers.get('location'), await fill(expect.location, who), ctx);
      if (expect.location_starts !== undefined) {
        assert.ok((res.headers.get('location') ?? '').startsWith((await fill(expect.location_starts, who)) as string), `${ctx}: location ${res.headers.get('location')}`);
      }
      if (expect.cookies_set) assert.deepEqual(setCookieNames(res), [...expect.cookies_set].sort(), ctx);
      for (const h of expect.header_absent ?? []) assert.equal(res.headers.get(h), null, `${ctx}: header ${h}`);
      for (const [h, v] of Object.entries((expect.header_has ?? {}) as Record<string, string>)) assert.ok((res.headers.get(h) ?? '').includes(v), `${ctx}: header ${h}`);
      for (const s of expect.body_has ?? []) assert.ok(text.includes(s), `${ctx}: body lacks ${s}`);
      for (const s of expect.body_lacks ?? []) assert.ok(!text.includes(s), `${ctx}: body has ${s}`);
      if (expect.json !== undefined) matches(expect.json, json, ctx);
      for (const [path, keys] of Object.entries((expect.keys ?? {}) as Record<string, string[]>)) {
        assert.deepEqual(Object.keys(pointer(json, path) as object).sort(), [...keys].sort(), `${ctx}: keys at "${path}"`);
      }
      for (const [path, value] of Object.entries((expect.json_at ?? {}) as Record<string, Json>)) matches(value, pointer(json, path), `${ctx} at ${path}`);
      if (expect.downstream) {
        const d = expect.downstream as { count: number; headers?: string[]; body?: string; same_header?: string };
        assert.equal(downstream!.received.length, d.count, `${ctx}: downstream requests`);
        for (const h of d.headers ?? []) assert.ok(downstream!.received.every((r) => r.headers[h]), `${ctx}: downstream header ${h}`);
        if (d.body !== undefined) assert.equal(downstream!.received.at(-1)!.body, d.body);
        if (d.same_header) assert.equal(new Set(downstream!.received.map((r) => r.headers[d.same_header!])).size, 1, `${ctx}: one ${d.same_header}`);
      }
      for (const [k, p] of Object.entries((step.save ?? {}) as Record<string, string>)) saved[k] = String(pointer(json, p));
    }
  } finally {
    await t.close();
    await downstream?.close();
  }
}

async function runStartup(c: StartupCase): Promise<void> {
  const env: Record<string, string> = { ...c.env };
  const manifest: Record<string, unknown> = { ...manifestOverrides() };
  for (const [k, v] of Object.entries(c.manifest ?? {})) {
    if (k === 'secrets' && v === '@vault') {
      const doc = testManifestDoc('https://unused.example.com');
      manifest.secrets = (doc.secrets as Array<{ name: string }>).map((s) => ({ name: s.name, provider: 'vault' }));
    } else {
      const cur = manifest[k];
      manifest[k] = cur && typeof cur === 'object' && v && typeof v === 'object' ? { ...cur, ...v } : v;
    }
  }
  if (c.secrets_dir) {
    const dir = tempDir('contract-secrets-');
    const values: Record<string, string> = { SESSION_SECRET: 's'.repeat(40), ...kindFixture.secrets };
    for (const [name, value] of Object.entries(values)) {
      if (c.secrets_dir.omit?.includes(name)) continue;
      writeFileSync(join(dir, name), c.secrets_dir.empty?.includes(name) ? '\n' : `${value}\n`);
    }
    env.LEVEE_SECRETS_DIR = dir;
  }
  await assert.rejects(
    async () => {
      const t = await startTestApp({ manifest, env });
      await t.close();
    },
    (err: Error) => {
      for (const s of c.error_has) assert.ok(err.message.includes(s), `error "${err.message}" lacks "${s}"`);
      return true;
    },
  );
}

describe(`the shared contract: ${KIND}`, () => {
  for (const c of [...(file.cases.common ?? []), ...(file.cases[KIND] ?? [])]) test(c.name, () => runCase(c));
});

describe(`the shared contract: ${KIND} refuses to start`, () => {
  for (const c of [...(file.startup.common ?? []), ...(file.startup[KIND] ?? [])]) test(c.name, () => runStartup(c));
});
