import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { AddressInfo } from 'node:net';
import { parseCsv } from '../src/csv.ts';
import { aggregate, chartColumns, fromCsv, loadDataset } from '../src/dataset.ts';
import { dataSource } from '../src/routes.ts';
import { metricPoints } from '../src/telemetry.ts';
import { closeServer, listen, startTestApp, type TestApp } from './support/harness.ts';
import { tempDir } from './support/tmp.ts';

const analyst = { sub: 'u-ana', name: 'Ana Analyst', email: 'ana@example.com', groups: ['analysts'] };

describe('dashboard page', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp();
  });
  after(() => t.close());

  test('renders the bundled sample as a chart and a table', async () => {
    const b = await t.loginAs(analyst);
    const res = await b.request('/');
    assert.equal(res.status, 200);
    const body = await res.text();
    assert.match(body, /<svg role="img" aria-label="revenue by month"/);
    assert.equal((body.match(/<rect /g) ?? []).length, 3, 'one bar per month');
    assert.match(body, /<th>region<\/th>/);
    assert.match(body, /<td class="num">12500.5<\/td>/);
    assert.match(body, /Dataset <strong>sales<\/strong> · 9 rows/);
  });

  test('emits the business metric app.dashboard.views', async () => {
    const b = await t.loginAs(analyst);
    const before = (await metricPoints(t.telemetry, 'app.dashboard.views')).find((p) => p.attributes.dataset === 'sales');
    await b.request('/');
    await b.request('/');
    const after = (await metricPoints(t.telemetry, 'app.dashboard.views')).find((p) => p.attributes.dataset === 'sales');
    assert.ok(after, 'metric exported');
    assert.equal((after.value as number) - ((before?.value as number | undefined) ?? 0), 2);
  });

  test('/api/data returns the rows as JSON, behind login', async () => {
    assert.equal((await t.browser().request('/api/data')).status, 303);
    const b = await t.loginAs(analyst);
    const json = (await (await b.request('/api/data')).json()) as { columns: string[]; rows: unknown[] };
    assert.deepEqual(json.columns, ['month', 'region', 'revenue', 'orders']);
    assert.equal(json.rows.length, 9);
  });
});

describe('data from elsewhere', () => {
  test('escapes everything that comes from the data', async () => {
    const dir = tempDir('dash-');
    const file = join(dir, 'evil.json');
    writeFileSync(file, JSON.stringify([{ name: '<script>alert(1)</script>', 'amount"><img src=x>': 5 }]));
    const t = await startTestApp({ env: { DASHBOARD_DATA_SOURCE: file } });
    try {
      const body = await (await (await t.loginAs(analyst)).request('/')).text();
      assert.ok(!body.includes('<script>alert(1)'), 'no raw script tag');
      assert.ok(!body.includes('<img src=x>'), 'no raw attribute injection');
      assert.match(body, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
    } finally {
      await t.close();
    }
  });

  test('reads JSON from a URL with the DASHBOARD_DATA_TOKEN secret as bearer token', async () => {
    let auth: string | undefined;
    const server = await listen((req, res) => {
      auth = req.headers.authorization;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ rows: [{ team: 'A', score: 3 }, { team: 'B', score: 4 }, { team: 'A', score: 1 }] }));
    });
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/data.json`;
    const t = await startTestApp({
      env: { DASHBOARD_DATA_SOURCE: url, DASHBOARD_DATA_TOKEN: 'data-token-123' },
      manifest: {
        secrets: [
          { name: 'SESSION_SECRET', provider: 'env' },
          { name: 'DASHBOARD_DATA_TOKEN', provider: 'env' },
        ],
      },
    });
    try {
      const body = await (await (await t.loginAs(analyst)).request('/')).text();
      assert.equal(auth, 'Bearer data-token-123');
      assert.match(body, /score by team/);
      assert.ok(!body.includes('data-token-123'), 'the token never reaches the page');
    } finally {
      await t.close();
      await closeServer(server);
    }
  });

  test('a remote dataset is cut off as soon as it passes DASHBOARD_MAX_BYTES, not read to its end', async () => {
    let sent = 0;
    let closed = false;
    const server = await listen((req, res) => {
      res.setHeader('content-type', 'application/json');
      res.write('[');
      const chunk = Buffer.from(`${JSON.stringify({ pad: 'x'.repeat(1000) })},`);
      // An endless body: only the client hanging up stops it.
      const timer = setInterval(() => {
        for (let i = 0; i < 16; i++) {
          sent += chunk.length;
          res.write(chunk);
        }
      }, 1);
      req.socket.on('close', () => {
        closed = true;
        clearInterval(timer);
      });
    });
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/endless.json`;
    try {
      await assert.rejects(
        loadDataset(url, { env: { APP_ENV: 'test' }, fetch, maxBytes: 64 * 1024, timeoutMs: 20_000 }),
        /more than 65536 bytes/,
      );
      await new Promise((r) => setTimeout(r, 50));
      assert.ok(closed, 'the connection was closed');
      assert.ok(sent < 4 * 1024 * 1024, `the app stopped reading early (the server sent ${sent} bytes)`);
    } finally {
      await closeServer(server);
    }
  });

  test('a file larger than DASHBOARD_MAX_BYTES is refused before it is read; errors never show its path', async () => {
    const dir = tempDir('dash-secret-folder-');
    const big = join(dir, 'big.csv');
    writeFileSync(big, 'a,b\n' + '1,2\n'.repeat(1000));
    await assert.rejects(loadDataset(big, { env: { APP_ENV: 'test' }, fetch, maxBytes: 100 }), /larger than 100 bytes/);
    const t = await startTestApp({ env: { DASHBOARD_DATA_SOURCE: join(dir, 'missing.csv') } });
    try {
      const b = await t.loginAs(analyst);
      const page = await b.request('/');
      assert.equal(page.status, 500);
      const text = await page.text();
      assert.match(text, /The dataset could not be loaded/);
      assert.ok(!text.includes('dash-secret-folder'), 'no file path on the page');
      const api = await b.request('/api/data', { headers: { accept: 'application/json' } });
      assert.deepEqual(await api.json(), { error: 'The dataset could not be loaded. The app log says why.' });
    } finally {
      await t.close();
    }
  });

  test('LEVEE_MAX_RUNTIME_SECONDS: a request still running then is answered 503', async () => {
    const slow = await listen((_req, res) => {
      setTimeout(() => res.end('[]'), 3000).unref();
    });
    const url = `http://127.0.0.1:${(slow.address() as AddressInfo).port}/slow.json`;
    const t = await startTestApp({ env: { DASHBOARD_DATA_SOURCE: url, LEVEE_MAX_RUNTIME_SECONDS: '1' } });
    try {
      const b = await t.loginAs(analyst);
      const started = performance.now();
      const res = await b.request('/api/data', { headers: { accept: 'application/json' } });
      assert.equal(res.status, 503);
      assert.deepEqual(await res.json(), { error: 'The request took longer than 1 seconds.' });
      assert.ok(performance.now() - started < 2500);
    } finally {
      await t.close();
      await closeServer(slow);
    }
  });

  test('the bundled sample is only used on a laptop or in tests', () => {
    assert.match(dataSource({ APP_ENV: 'dev' }), /sample-data\/sales\.csv$/);
    assert.throws(() => dataSource({ APP_ENV: 'production' }), /DASHBOARD_DATA_SOURCE is not set/);
    assert.throws(() => dataSource({}), /DASHBOARD_DATA_SOURCE is not set/);
  });

  test('a URL source must be https outside development', async () => {
    await assert.rejects(
      loadDataset('http://data.example.com/x.json', { env: { NODE_ENV: 'production' }, fetch }),
      /must start with https/,
    );
  });
});

describe('csv and aggregation', () => {
  test('parses quotes, escaped quotes, CRLF and a BOM', () => {
    assert.deepEqual(parseCsv('\ufeffa,b\r\n"x, y","say ""hi"""\r\n1,\n'), [
      ['a', 'b'],
      ['x, y', 'say "hi"'],
      ['1', ''],
    ]);
    assert.throws(() => parseCsv('a\n"open'), /unclosed quote/);
  });

  test('rejects ragged rows and sums values per label', () => {
    assert.throws(() => fromCsv('a,b\n1\n'), /line 2 has 1 fields, expected 2/);
    const ds = { ...fromCsv('team,score\nA,1\nB,2\nA,3.5\n'), source: 'x', loadedAt: new Date() };
    assert.deepEqual(chartColumns(ds, {}), { label: 'team', value: 'score' });
    assert.deepEqual(aggregate(ds, 'team', 'score'), [
      { label: 'A', value: 4.5 },
      { label: 'B', value: 2 },
    ]);
    assert.throws(() => chartColumns(ds, { DASHBOARD_VALUE_COLUMN: 'nope' }), /Column "nope" is not in the data/);
  });
});
