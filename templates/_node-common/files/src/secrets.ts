// One small interface for secrets: `await secrets.getSecret('NAME')`.
//
// In the cluster (LEVEE_SECRETS_DIR set by deploy/): every secret declared in app.yaml is read
// from the file $LEVEE_SECRETS_DIR/<NAME> that the platform mounts, whatever its provider; no
// Vault or AWS client is created and no Vault or AWS credentials are needed.
//
// Elsewhere (a laptop, a VM), the backend is decided per secret by app.yaml:
//   secrets:
//     - {name: PAYMENT_API_KEY, provider: vault}                # HashiCorp Vault, KV version 2
//     - {name: REPORT_DB_PASSWORD, provider: aws-secrets-manager}
//     - {name: SESSION_SECRET, provider: env}                   # prototype tier only
//
// Every declared secret is read once when the app starts (createApp), so a missing or
// unreadable secret stops the app before it answers its health check.
// Secret values are never logged and never put into error messages.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError, intFromEnv, requireSecureUrl, type Env } from './config.ts';
import type { Manifest, SecretProvider, SecretRef } from './manifest.ts';

export interface SecretStore {
  /** The secret's value. Throws a SecretError with a readable message if it cannot be read. */
  getSecret(name: string): Promise<string>;
  /** Whether app.yaml declares this secret. */
  has(name: string): boolean;
  /** Read every declared secret once (at start-up); throws the first SecretError. */
  preload(): Promise<void>;
}

export interface SecretBackend {
  readonly provider: SecretProvider | 'files';
  get(name: string): Promise<string>;
}

export class SecretError extends Error {
  override name = 'SecretError';
}

type FetchFn = typeof fetch;

// -------------------------------------------------------------- files ----

/** $LEVEE_SECRETS_DIR/<NAME>: the content as is, one trailing newline removed. */
export function filesBackend(dir: string): SecretBackend {
  return {
    provider: 'files',
    async get(name) {
      const path = join(dir, name);
      let value: string;
      try {
        value = await readFile(path, 'utf8');
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') {
          throw new SecretError(
            `Secret ${name}: ${path} does not exist. With LEVEE_SECRETS_DIR set, every secret in app.yaml ` +
              'is read from a file of its name there (the platform mounts them from the Secret <app>-secrets).',
          );
        }
        throw new SecretError(`Secret ${name}: ${path} cannot be read (${code ?? 'error'}).`);
      }
      if (value.endsWith('\n')) value = value.slice(0, -1);
      if (value === '') throw new SecretError(`Secret ${name}: ${path} is empty.`);
      return value;
    },
  };
}

// ---------------------------------------------------------------- env ----

/** Reads the secret from an environment variable of the same name. Prototype tier only. */
export function envBackend(manifest: Manifest, env: Env): SecretBackend {
  return {
    provider: 'env',
    async get(name) {
      assertEnvProviderAllowed(manifest, name);
      const value = env[name];
      if (value === undefined || value === '') {
        throw new SecretError(
          `Secret ${name} uses provider "env" but the environment variable ${name} is not set ` +
            '(on your laptop: put it in the .env file, which is never committed).',
        );
      }
      return value;
    },
  };
}

function assertEnvProviderAllowed(manifest: Manifest, name: string): void {
  if (manifest.lifecycle.tier !== 'prototype') {
    throw new SecretError(
      `Secret ${name} uses provider "env", which is only allowed for prototypes, but ` +
        `${manifest.source} says lifecycle.tier is "${manifest.lifecycle.tier}". ` +
        'Store the secret in vault or aws-secrets-manager and change its provider in app.yaml.',
    );
  }
}

// -------------------------------------------------------------- vault ----

export interface VaultOptions {
  /** VAULT_ADDR, e.g. https://vault.acme.corp */
  address: string;
  /** VAULT_TOKEN */
  token: string;
  /** KV v2 mount, VAULT_KV_MOUNT (default "secret") */
  mount: string;
  /** Path of this app's secrets inside the mount, VAULT_KV_PATH (default "apps/<app name>") */
  path: string;
  namespace?: string | undefined;
  timeoutMs: number;
  fetch?: FetchFn;
}

export function vaultOptionsFromEnv(manifest: Manifest, env: Env, name: string): VaultOptions {
  const address = env.VAULT_ADDR?.trim();
  if (!address) {
    throw new SecretError(`Secret ${name} uses provider "vault" but VAULT_ADDR is not set (the address of Vault, e.g. https://vault.example.com).`);
  }
  const token = env.VAULT_TOKEN?.trim();
  if (!token) throw new SecretError(`Secret ${name} uses provider "vault" but VAULT_TOKEN is not set.`);
  requireSecureUrl(address, 'VAULT_ADDR', env);
  return {
    address: address.replace(/\/+$/, ''),
    token,
    mount: (env.VAULT_KV_MOUNT?.trim() || 'secret').replace(/^\/+|\/+$/g, ''),
    path: (env.VAULT_KV_PATH?.trim() || `apps/${manifest.name}`).replace(/^\/+|\/+$/g, ''),
    namespace: env.VAULT_NAMESPACE?.trim() || undefined,
    timeoutMs: intFromEnv(env, 'SECRETS_TIMEOUT_MS', 5000, 100, 60000),
  };
}

/**
 * Vault KV version 2: GET {VAULT_ADDR}/v1/{mount}/data/{path}; the secret is
 * the key of the same name inside that entry.
 */
export function vaultBackend(opts: VaultOptions): SecretBackend {
  const doFetch = opts.fetch ?? fetch;
  const encodedPath = opts.path.split('/').map(encodeURIComponent).join('/');
  const url = `${opts.address}/v1/${encodeURIComponent(opts.mount)}/data/${encodedPath}`;
  const where = `Vault ${opts.mount}/${opts.path}`;
  return {
    provider: 'vault',
    async get(name) {
      const headers: Record<string, string> = { 'X-Vault-Token': opts.token, Accept: 'application/json' };
      if (opts.namespace) headers['X-Vault-Namespace'] = opts.namespace;
      let res: Response;
      try {
        res = await doFetch(url, { headers, signal: AbortSignal.timeout(opts.timeoutMs) });
      } catch (err) {
        throw new SecretError(`Could not reach Vault at ${opts.address} to read ${name}: ${(err as Error).name}.`);
      }
      if (res.status === 403 || res.status === 401) {
        throw new SecretError(`Vault refused to read ${where}: check VAULT_TOKEN and its policy.`);
      }
      if (res.status === 404) {
        throw new SecretError(`${where} does not exist: check VAULT_KV_MOUNT and VAULT_KV_PATH.`);
      }
      if (!res.ok) throw new SecretError(`Could not reach Vault at ${opts.address} to read ${name}: HTTP ${res.status}.`);
      const body = (await res.json().catch(() => null)) as { data?: { data?: Record<string, unknown> } } | null;
      const value = body?.data?.data?.[name];
      if (typeof value !== 'string' || value === '') {
        throw new SecretError(`${where} has no key named ${name}.`);
      }
      return value;
    },
  };
}

// --------------------------------------------------- aws secrets manager ----

export interface AwsOptions {
  region: string;
  /** Override the service endpoint (AWS_SECRETS_MANAGER_ENDPOINT), e.g. for a VPC endpoint or tests. */
  endpoint?: string | undefined;
  /** Prefix put before the secret name to form the SecretId (AWS_SECRETS_PREFIX, default "<app name>/"). */
  prefix: string;
  timeoutMs: number;
}

export function awsOptionsFromEnv(manifest: Manifest, env: Env, name: string): AwsOptions {
  const region = env.AWS_REGION?.trim() || env.AWS_DEFAULT_REGION?.trim();
  if (!region) throw new SecretError(`Secret ${name} uses provider "aws-secrets-manager" but AWS_REGION is not set.`);
  const endpoint = env.AWS_SECRETS_MANAGER_ENDPOINT?.trim() || undefined;
  if (endpoint) requireSecureUrl(endpoint, 'AWS_SECRETS_MANAGER_ENDPOINT', env);
  return {
    region,
    endpoint,
    prefix: env.AWS_SECRETS_PREFIX ?? `${manifest.name}/`,
    timeoutMs: intFromEnv(env, 'SECRETS_TIMEOUT_MS', 5000, 100, 60000),
  };
}

/** AWS Secrets Manager through the official SDK; credentials come from the usual AWS chain. */
export function awsBackend(opts: AwsOptions): SecretBackend {
  let clientPromise: Promise<{ send: (name: string) => Promise<string> }> | undefined;
  const load = async () => {
    // Loaded on first use so apps without AWS secrets don't pay for the SDK at start-up.
    const sdk = await import('@aws-sdk/client-secrets-manager');
    const client = new sdk.SecretsManagerClient({
      region: opts.region,
      ...(opts.endpoint ? { endpoint: opts.endpoint } : {}),
      maxAttempts: 2,
    });
    return {
      send: async (secretId: string) => {
        const out = await client.send(new sdk.GetSecretValueCommand({ SecretId: secretId }), {
          abortSignal: AbortSignal.timeout(opts.timeoutMs),
        });
        if (typeof out.SecretString === 'string') return out.SecretString;
        if (out.SecretBinary) return Buffer.from(out.SecretBinary).toString('utf8');
        return '';
      },
    };
  };
  return {
    provider: 'aws-secrets-manager',
    async get(name) {
      clientPromise ??= load();
      const secretId = `${opts.prefix}${name}`;
      let value: string;
      try {
        value = await (await clientPromise).send(secretId);
      } catch (err) {
        const e = err as { name?: string; message?: string };
        if (e.name === 'ResourceNotFoundException') {
          throw new SecretError(`AWS Secrets Manager has no secret "${secretId}" in ${opts.region} (for ${name}).`);
        }
        if (e.name === 'AccessDeniedException') {
          throw new SecretError(`AWS Secrets Manager refused access to "${secretId}": check the app's IAM role.`);
        }
        throw new SecretError(`Could not read "${secretId}" from AWS Secrets Manager: ${e.name ?? 'error'}.`);
      }
      if (value === '') throw new SecretError(`AWS secret "${secretId}" is empty.`);
      return value;
    },
  };
}

// -------------------------------------------------------------- store ----

export interface SecretStoreOptions {
  /** Replace a backend (tests, or a custom backend). */
  backends?: Partial<Record<SecretProvider, SecretBackend>>;
  fetch?: FetchFn;
}

/**
 * The app's secret store. Checks app.yaml up front: an "env" secret outside
 * the prototype tier stops the app at start-up with a clear message.
 */
export function createSecretStore(manifest: Manifest, env: Env, opts: SecretStoreOptions = {}): SecretStore {
  for (const s of manifest.secrets) {
    if (s.provider === 'env') assertEnvProviderAllowed(manifest, s.name);
  }
  const cacheMs = intFromEnv(env, 'SECRETS_CACHE_SECONDS', 300, 0, 86400) * 1000;
  const secretsDir = env.LEVEE_SECRETS_DIR?.trim();
  const files = secretsDir ? filesBackend(secretsDir) : null;
  const backends = new Map<SecretProvider, SecretBackend>();
  const backendFor = (provider: SecretProvider, name: string): SecretBackend => {
    if (files) return files; // in the cluster: no Vault or AWS client at all
    let b = backends.get(provider) ?? opts.backends?.[provider];
    if (!b) {
      if (provider === 'env') b = envBackend(manifest, env);
      else if (provider === 'vault') b = vaultBackend({ ...vaultOptionsFromEnv(manifest, env, name), ...(opts.fetch ? { fetch: opts.fetch } : {}) });
      else b = awsBackend(awsOptionsFromEnv(manifest, env, name));
    }
    backends.set(provider, b);
    return b;
  };
  const byName = new Map<string, SecretRef>(manifest.secrets.map((s) => [s.name, s]));
  const cache = new Map<string, { value: string; until: number }>();

  const store: SecretStore = {
    has: (name) => byName.has(name),
    async getSecret(name) {
      const ref = byName.get(name);
      if (!ref) {
        throw new SecretError(
          `Secret ${name} is not declared in app.yaml. Add it under "secrets:", for example:\n` +
            `  secrets:\n    - name: ${name}\n      provider: vault`,
        );
      }
      const hit = cache.get(name);
      if (hit && hit.until > Date.now()) return hit.value;
      const value = await backendFor(ref.provider, name).get(name);
      if (cacheMs > 0) cache.set(name, { value, until: Date.now() + cacheMs });
      return value;
    },
    async preload() {
      for (const ref of manifest.secrets) await store.getSecret(ref.name);
    },
  };
  return store;
}

export { ConfigError };
