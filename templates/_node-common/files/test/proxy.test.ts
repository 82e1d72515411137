// Outbound calls go through the egress proxy when deploy/ sets HTTP(S)_PROXY and
// NODE_USE_ENV_PROXY=1 (Node 24's fetch then honours the proxy variables). Checked with the real
// server in a child process, a local forward proxy, and a login provider whose host name does not
// resolve: only the proxy can reach it.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { stringify } from 'yaml';
import { closeServer, kindFixture, listen, randomSecret, testManifestDoc } from './support/harness.ts';
import { tempDir } from './support/tmp.ts';

const ISSUER = 'http://login.proxy-test.invalid';
const seen: string[] = [];
let proxy: import('node:http').Server;
let proxyUrl: string;

let provider: import('node:http').Server;

before(async () => {
  // The login provider, reachable only through the proxy's tunnel.
  provider = await listen((req, res) => {
    seen.push(`${req.method} ${req.headers.host}${req.url}`);
    if (req.url === '/.well-known/openid-configuration') {
      res.setHeader('content-type', 'application/json');
      return res.end(
        JSON.stringify({
          issuer: ISSUER,
          authorization_endpoint: `${ISSUER}/authorize`,
          token_endpoint: `${ISSUER}/token`,
          jwks_uri: `${ISSUER}/jwks`,
          response_types_supported: ['code'],
        }),
      );
    }
    res.statusCode = 404;
    res.end();
  });
  // A forward proxy: Node's fetch (undici) tunnels every request with CONNECT, http ones too.
  proxy = await listen((_req, res) => {
    res.statusCode = 405;
    res.end();
  });
  proxy.on('connect', (req, socket: Socket, head: Buffer) => {
    seen.push(`CONNECT ${req.url}`);
    const upstream = connect((provider.address() as AddressInfo).port, '127.0.0.1', () => {
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      upstream.pipe(socket);
      socket.pipe(upstream);
    });
    upstream.on('error', () => socket.destroy());
    socket.on('error', () => upstream.destroy());
  });
  proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
});
after(async () => {
  await closeServer(proxy);
  await closeServer(provider);
});


async function startServer(extraEnv: Record<string, string>): Promise<{ port: number; stop: () => void; output: () => string }> {
  const dir = tempDir('proxy-');
  const manifestPath = join(dir, 'app.yaml');
  writeFileSync(manifestPath, stringify(testManifestDoc(ISSUER)));
  const child = spawn(process.execPath, ['src/server.ts'], {
    env: {
      PATH: process.env.PATH ?? '',
      APP_ENV: 'test',
      LOG_LEVEL: 'info',
      HOST: '127.0.0.1',
      PORT: '0',
      DATA_DIR: join(dir, 'data'),
      LEVEE_MANIFEST: manifestPath,
      SESSION_SECRET: randomSecret(),
      OTEL_SDK_DISABLED: 'true',
      ...kindFixture.secrets,
      ...kindFixture.env,
      ...extraEnv,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d));
  child.stderr.on('data', (d: Buffer) => (output += d));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${output}`)), 15_000);
    child.stdout.on('data', () => {
      const m = /"msg":"listening".*?"port":(\d+)/.exec(output);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.on('exit', (code) => reject(new Error(`server exited with ${code}:\n${output}`)));
  });
  return { port, stop: () => child.kill('SIGKILL'), output: () => output };
}

test('with NODE_USE_ENV_PROXY=1 the login provider is reached through HTTP_PROXY', async () => {
  const app = await startServer({ HTTP_PROXY: proxyUrl, HTTPS_PROXY: proxyUrl, NO_PROXY: 'localhost,127.0.0.1', NODE_USE_ENV_PROXY: '1' });
  try {
    seen.length = 0;
    const res = await fetch(`http://127.0.0.1:${app.port}/auth/login`, { headers: { accept: 'text/html' }, redirect: 'manual' });
    assert.equal(res.status, 303, app.output());
    assert.match(res.headers.get('location') ?? '', /^http:\/\/login\.proxy-test\.invalid\/authorize\?/);
    assert.deepEqual(seen, ['CONNECT login.proxy-test.invalid:80', 'GET login.proxy-test.invalid/.well-known/openid-configuration']);
  } finally {
    app.stop();
  }
});

test('without NODE_USE_ENV_PROXY, Node 24 fetch ignores the proxy variables (why deploy/ sets it)', async () => {
  const app = await startServer({ HTTP_PROXY: proxyUrl, HTTPS_PROXY: proxyUrl });
  try {
    seen.length = 0;
    const res = await fetch(`http://127.0.0.1:${app.port}/auth/login`, { headers: { accept: 'text/html' }, redirect: 'manual' });
    assert.equal(res.status, 503, 'the provider cannot be reached directly');
    assert.deepEqual(seen, []);
  } finally {
    app.stop();
  }
});
