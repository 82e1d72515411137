// The secret backends against local fakes of Vault (KV v2) and AWS Secrets Manager.
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { stringify } from 'yaml';
import { parseManifest, type Manifest } from '../src/manifest.ts';
import { createSecretStore } from '../src/secrets.ts';
import { closeServer, listen } from './support/harness.ts';
import { tempDir } from './support/tmp.ts';

function manifest(tier: string, secrets: Array<{ name: string; provider: string }>): Manifest {
  return parseManifest(
    stringify({
      name: 'payments-app',
      kind: 'form',
      classification: 'confidential',
      sso: 'oidc',
      secrets,
      lifecycle: { tier },
    }),
    'app.yaml',
  );
}

async function readBody(req: IncomingMessage): Promise<string> {
  let body = '';
  for await (const chunk of req) body += chunk;
  return body;
}

describe('vault (KV v2)', () => {
  const requests: Array<{ url: string; token: string | undefined; namespace: string | undefined }> = [];
  let server: import('node:http').Server;
  let addr: string;
  before(async () => {
    server = await listen((req: IncomingMessage, res: ServerResponse) => {
      requests.push({
        url: req.url ?? '',
        token: req.headers['x-vault-token'] as string | undefined,
        namespace: req.headers['x-vault-namespace'] as string | undefined,
      });
      res.setHeader('content-type', 'application/json');
      if (req.headers['x-vault-token'] !== 'root-token') {
        res.statusCode = 403;
        return res.end(JSON.stringify({ errors: ['permission denied'] }));
      }
      const data: Record<string, Record<string, string>> = {
        '/v1/secret/data/apps/payments-app': { PAYMENT_API_KEY: 'pk-from-vault', SESSION_SECRET: 's'.repeat(40) },
        '/v1/kv/data/team/finance/payments': { PAYMENT_API_KEY: 'pk-custom-path' },
      };
      const entry = data[req.url ?? ''];
      if (!entry) {
        res.statusCode = 404;
        return res.end(JSON.stringify({ errors: [] }));
      }
      res.end(JSON.stringify({ data: { data: entry, metadata: { version: 3 } } }));
    });
    addr = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => closeServer(server));

  const m = manifest('production', [
    { name: 'PAYMENT_API_KEY', provider: 'vault' },
    { name: 'MISSING_KEY', provider: 'vault' },
  ]);

  test('reads the key from {mount}/data/{path} with the Vault token, and caches it', async () => {
    requests.length = 0;
    const store = createSecretStore(m, { APP_ENV: 'test', VAULT_ADDR: addr, VAULT_TOKEN: 'root-token' });
    assert.equal(await store.getSecret('PAYMENT_API_KEY'), 'pk-from-vault');
    assert.equal(await store.getSecret('PAYMENT_API_KEY'), 'pk-from-vault');
    assert.equal(requests.length, 1);
    assert.equal(requests[0]!.url, '/v1/secret/data/apps/payments-app');
    assert.equal(requests[0]!.token, 'root-token');
  });

  test('mount, path and namespace are configurable', async () => {
    requests.length = 0;
    const store = createSecretStore(m, {
      APP_ENV: 'test',
      VAULT_ADDR: `${addr}/`,
      VAULT_TOKEN: 'root-token',
      VAULT_KV_MOUNT: 'kv',
      VAULT_KV_PATH: '/team/finance/payments',
      VAULT_NAMESPACE: 'finance',
    });
    assert.equal(await store.getSecret('PAYMENT_API_KEY'), 'pk-custom-path');
    assert.equal(requests[0]!.url, '/v1/kv/data/team/finance/payments');
    assert.equal(requests[0]!.namespace, 'finance');
  });

  test('clear errors that never contain a secret value', async () => {
    const store = createSecretStore(m, { APP_ENV: 'test', VAULT_ADDR: addr, VAULT_TOKEN: 'root-token' });
    await assert.rejects(store.getSecret('MISSING_KEY'), (err: Error) => {
      assert.match(err.message, /has no key named MISSING_KEY/);
      assert.doesNotMatch(err.message, /pk-from-vault/);
      return true;
    });
    const denied = createSecretStore(m, { APP_ENV: 'test', VAULT_ADDR: addr, VAULT_TOKEN: 'wrong' });
    await assert.rejects(denied.getSecret('PAYMENT_API_KEY'), /Vault refused .* check VAULT_TOKEN/);
    const wrongPath = createSecretStore(m, { APP_ENV: 'test', VAULT_ADDR: addr, VAULT_TOKEN: 'root-token', VAULT_KV_PATH: 'x' });
    await assert.rejects(wrongPath.getSecret('PAYMENT_API_KEY'), /does not exist: check VAULT_KV_MOUNT and VAULT_KV_PATH/);
    const noAddr = createSecretStore(m, { APP_ENV: 'test', VAULT_TOKEN: 'root-token' });
    await assert.rejects(noAddr.getSecret('PAYMENT_API_KEY'), /Secret PAYMENT_API_KEY uses provider "vault" but VAULT_ADDR is not set/);
  });

  test('Vault must be reached over https outside development', async () => {
    const store = createSecretStore(m, { APP_ENV: 'production', VAULT_ADDR: addr, VAULT_TOKEN: 'root-token' });
    await assert.rejects(store.getSecret('PAYMENT_API_KEY'), /VAULT_ADDR must start with https/);
  });
});

describe('aws secrets manager', () => {
  const requests: Array<{ target: string; contentType: string; authorization: string; body: { SecretId?: string } }> = [];
  let server: import('node:http').Server;
  let endpoint: string;
  const saved: Record<string, string | undefined> = {};
  const awsEnv = {
    AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
    AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
    AWS_EC2_METADATA_DISABLED: 'true',
  };
  before(async () => {
    // The SDK reads credentials from the process environment (the standard AWS chain).
    for (const [k, v] of Object.entries(awsEnv)) {
      saved[k] = process.env[k];
      process.env[k] = v;
    }
    server = await listen(async (req: IncomingMessage, res: ServerResponse) => {
      const body = JSON.parse((await readBody(req)) || '{}') as { SecretId?: string };
      requests.push({
        target: String(req.headers['x-amz-target']),
        contentType: String(req.headers['content-type']),
        authorization: String(req.headers.authorization),
        body,
      });
      res.setHeader('content-type', 'application/x-amz-json-1.1');
      if (req.headers['x-amz-target'] !== 'secretsmanager.GetSecretValue') {
        res.statusCode = 400;
        return res.end(JSON.stringify({ __type: 'InvalidRequestException', message: 'unexpected call' }));
      }
      if (body.SecretId === 'payments-app/DB_PASSWORD' || body.SecretId === 'finance/prod/DB_PASSWORD') {
        return res.end(
          JSON.stringify({
            ARN: `arn:aws:secretsmanager:eu-west-1:123456789012:secret:${body.SecretId}-AbCdEf`,
            Name: body.SecretId,
            SecretString: `pw-for-${body.SecretId}`,
            VersionId: 'v1',
            VersionStages: ['AWSCURRENT'],
            CreatedDate: 1767225600,
          }),
        );
      }
      res.statusCode = 400;
      res.setHeader('x-amzn-errortype', 'ResourceNotFoundException');
      res.end(JSON.stringify({ __type: 'ResourceNotFoundException', message: "Secrets Manager can't find the specified secret." }));
    });
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    await closeServer(server);
  });

  const m = manifest('production', [
    { name: 'DB_PASSWORD', provider: 'aws-secrets-manager' },
    { name: 'NOT_THERE', provider: 'aws-secrets-manager' },
  ]);

  test('GetSecretValue over the AWS JSON protocol, signed, with the app prefix', async () => {
    requests.length = 0;
    const store = createSecretStore(m, { APP_ENV: 'test', AWS_REGION: 'eu-west-1', AWS_SECRETS_MANAGER_ENDPOINT: endpoint });
    assert.equal(await store.getSecret('DB_PASSWORD'), 'pw-for-payments-app/DB_PASSWORD');
    const r = requests[0]!;
    assert.equal(r.target, 'secretsmanager.GetSecretValue');
    assert.equal(r.contentType, 'application/x-amz-json-1.1');
    assert.match(r.authorization, /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/secretsmanager\/aws4_request/);
    assert.deepEqual(r.body, { SecretId: 'payments-app/DB_PASSWORD' });
  });

  test('the prefix is configurable; unknown secrets give a clear error', async () => {
    const store = createSecretStore(m, {
      APP_ENV: 'test',
      AWS_REGION: 'eu-west-1',
      AWS_SECRETS_MANAGER_ENDPOINT: endpoint,
      AWS_SECRETS_PREFIX: 'finance/prod/',
    });
    assert.equal(await store.getSecret('DB_PASSWORD'), 'pw-for-finance/prod/DB_PASSWORD');
    await assert.rejects(store.getSecret('NOT_THERE'), /has no secret "finance\/prod\/NOT_THERE" in eu-west-1/);
  });

  test('AWS_REGION is required', async () => {
    const store = createSecretStore(m, { APP_ENV: 'test' });
    await assert.rejects(store.getSecret('DB_PASSWORD'), /AWS_REGION is not set/);
  });
});

describe('LEVEE_SECRETS_DIR (in the cluster)', () => {
  const dir = tempDir('secrets-');
  writeFileSync(join(dir, 'PAYMENT_API_KEY'), 'pk-from-file\n');
  writeFileSync(join(dir, 'DB_PASSWORD'), 'line one\nline two\n\n');
  writeFileSync(join(dir, 'EMPTY'), '\n');
  const m = manifest('production', [
    { name: 'PAYMENT_API_KEY', provider: 'vault' },
    { name: 'DB_PASSWORD', provider: 'aws-secrets-manager' },
    { name: 'EMPTY', provider: 'vault' },
    { name: 'NOT_MOUNTED', provider: 'vault' },
  ]);

  test('every provider is read from $LEVEE_SECRETS_DIR/<NAME>, with no Vault or AWS client', async () => {
    const calls: string[] = [];
    const spy = (async (url: string | URL | Request) => {
      calls.push(String(url));
      throw new Error('no network');
    }) as typeof fetch;
    // No VAULT_ADDR, VAULT_TOKEN or AWS_REGION: none is needed.
    const store = createSecretStore(m, { LEVEE_SECRETS_DIR: dir }, { fetch: spy });
    assert.equal(await store.getSecret('PAYMENT_API_KEY'), 'pk-from-file', 'one trailing newline is dropped');
    assert.equal(await store.getSecret('DB_PASSWORD'), 'line one\nline two\n', 'only one');
    assert.deepEqual(calls, []);
  });

  test('a missing or empty file is an error naming the secret and the file', async () => {
    const store = createSecretStore(m, { LEVEE_SECRETS_DIR: dir });
    await assert.rejects(store.getSecret('NOT_MOUNTED'), (err: Error) => {
      assert.match(err.message, /^Secret NOT_MOUNTED: .*NOT_MOUNTED does not exist/);
      assert.ok(err.message.includes(join(dir, 'NOT_MOUNTED')));
      return true;
    });
    await assert.rejects(store.getSecret('EMPTY'), new RegExp(`Secret EMPTY: ${join(dir, 'EMPTY')} is empty`));
    await assert.rejects(store.preload(), /Secret EMPTY/, 'preload (start-up) reads every declared secret');
  });
});

describe('env provider and declarations', () => {
  test('env secrets work in the prototype tier', async () => {
    const store = createSecretStore(manifest('prototype', [{ name: 'API_KEY', provider: 'env' }]), { API_KEY: 'from-env' });
    assert.equal(await store.getSecret('API_KEY'), 'from-env');
  });

  test('env secrets are refused outside the prototype tier, naming lifecycle.tier', () => {
    for (const tier of ['sandbox', 'production']) {
      assert.throws(
        () => createSecretStore(manifest(tier, [{ name: 'API_KEY', provider: 'env' }]), { API_KEY: 'from-env' }),
        (err: Error) => {
          assert.match(err.message, /API_KEY uses provider "env", which is only allowed for prototypes/);
          assert.match(err.message, new RegExp(`app.yaml says lifecycle.tier is "${tier}"`));
          assert.doesNotMatch(err.message, /from-env/);
          return true;
        },
      );
    }
  });

  test('a missing env variable and an undeclared secret are explained', async () => {
    const store = createSecretStore(manifest('prototype', [{ name: 'API_KEY', provider: 'env' }]), {});
    await assert.rejects(store.getSecret('API_KEY'), /environment variable API_KEY is not set/);
    await assert.rejects(store.getSecret('OTHER'), /Secret OTHER is not declared in app.yaml/);
    assert.equal(store.has('API_KEY'), true);
    assert.equal(store.has('OTHER'), false);
  });
});
