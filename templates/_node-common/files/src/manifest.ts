// Reads app.yaml, the description of this app that levee keeps up to date
// (name, data classification, lifecycle tier, login settings, secrets, data
// access). The app reads it when it starts, so `levee promote` changes reach
// the running app without code changes.
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { ConfigError, isLocalDev, type Env } from './config.ts';

export const TIERS = ['prototype', 'sandbox', 'production'] as const;
export type Tier = (typeof TIERS)[number];
export const CLASSIFICATIONS = ['public', 'internal', 'confidential', 'restricted'] as const;
export type Classification = (typeof CLASSIFICATIONS)[number];
export const SECRET_PROVIDERS = ['vault', 'aws-secrets-manager', 'env'] as const;
export type SecretProvider = (typeof SECRET_PROVIDERS)[number];

export const DEFAULT_SCOPES = ['openid', 'profile', 'email'];

export interface SsoConfig {
  provider: 'oidc';
  /** null when app.yaml uses the shorthand `sso: oidc`; the issuer then comes from OIDC_ISSUER. */
  issuer: string | null;
  /** People must be in at least one of these groups to use the app. Empty = any signed-in employee. */
  groups: string[];
  scopes: string[];
}

export interface SecretRef {
  name: string;
  provider: SecretProvider;
}

export interface DataAccess {
  dataset: string;
  access_level: string;
  purpose: string;
}

export interface Manifest {
  name: string;
  description: string;
  owner: string;
  team: string;
  kind: string;
  classification: Classification;
  sso: SsoConfig;
  secrets: SecretRef[];
  data_access: DataAccess[];
  lifecycle: { tier: Tier; created: string | null; expires: string | null };
  egress: string[];
  /** Where the manifest was read from, for error messages. */
  source: string;
}

/** Load the manifest from LEVEE_MANIFEST (default ./app.yaml). */
export function loadManifest(env: Env): Manifest {
  const path = env.LEVEE_MANIFEST?.trim() || './app.yaml';
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(
      `Cannot read the app manifest at ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'}). ` +
        'Run the app from its folder, or set LEVEE_MANIFEST to the path of app.yaml.',
    );
  }
  return parseManifest(text, path);
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | null => (typeof v === 'string' && v.trim() !== '' ? v.trim() : null);

function stringList(v: unknown, field: string, problems: string[]): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string' && x.trim() !== '')) {
    problems.push(`${field} must be a list of names`);
    return [];
  }
  return v.map((x: string) => x.trim());
}

export function parseManifest(text: string, source = 'app.yaml'): Manifest {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    throw new ConfigError(`${source} is not valid YAML: ${(err as Error).message}`);
  }
  if (!isRecord(doc)) throw new ConfigError(`${source} must be a YAML mapping (key: value lines)`);
  const problems: string[] = [];

  const name = str(doc.name);
  if (!name || !/^[a-z][a-z0-9-]{1,62}$/.test(name)) {
    problems.push('name must be 2-63 characters: lowercase letters, digits and dashes, starting with a letter');
  }
  const kind = str(doc.kind);
  if (!kind) problems.push('kind is missing (dashboard, form or webhook)');

  const classification = str(doc.classification);
  if (!classification || !(CLASSIFICATIONS as readonly string[]).includes(classification)) {
    problems.push(`classification must be one of ${CLASSIFICATIONS.join(', ')}`);
  }

  const lifecycle = isRecord(doc.lifecycle) ? doc.lifecycle : {};
  const tier = str(lifecycle.tier);
  if (!tier || !(TIERS as readonly string[]).includes(tier)) {
    problems.push(`lifecycle.tier must be one of ${TIERS.join(', ')}`);
  }

  let sso: SsoConfig = { provider: 'oidc', issuer: null, groups: [], scopes: [...DEFAULT_SCOPES] };
  if (doc.sso === 'oidc') {
    // Shorthand: the issuer comes from OIDC_ISSUER.
  } else if (isRecord(doc.sso)) {
    const provider = str(doc.sso.provider) ?? 'oidc';
    if (provider !== 'oidc') problems.push(`sso.provider "${provider}" is not supported (only oidc)`);
    const issuer = doc.sso.issuer === undefined || doc.sso.issuer === null ? null : str(doc.sso.issuer);
    if (doc.sso.issuer !== undefined && doc.sso.issuer !== null && issuer === null) {
      problems.push('sso.issuer must be a URL');
    }
    const scopes = stringList(doc.sso.scopes, 'sso.scopes', problems);
    sso = {
      provider: 'oidc',
      issuer,
      groups: stringList(doc.sso.groups, 'sso.groups', problems),
      scopes: scopes.length === 0 ? [...DEFAULT_SCOPES] : scopes.includes('openid') ? scopes : ['openid', ...scopes],
    };
  } else {
    problems.push('sso is required: these apps only run behind company login (use "sso: oidc")');
  }

  const secrets: SecretRef[] = [];
  if (doc.secrets !== undefined && doc.secrets !== null) {
    if (!Array.isArray(doc.secrets)) problems.push('secrets must be a list of {name, provider}');
    else
      doc.secrets.forEach((s: unknown, i: number) => {
        const sName = isRecord(s) ? str(s.name) : null;
        const provider = isRecord(s) ? str(s.provider) : null;
        if (!sName || !/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(sName)) {
          problems.push(`secrets[${i}].name must be a name like PAYMENT_API_KEY`);
        } else if (!provider || !(SECRET_PROVIDERS as readonly string[]).includes(provider)) {
          problems.push(`secrets[${i}] (${sName}): provider must be one of ${SECRET_PROVIDERS.join(', ')}`);
        } else if (secrets.some((x) => x.name === sName)) {
          problems.push(`secrets: ${sName} is listed twice`);
        } else {
          secrets.push({ name: sName, provider: provider as SecretProvider });
        }
      });
  }

  const dataAccess: DataAccess[] = [];
  if (Array.isArray(doc.data_access)) {
    doc.data_access.forEach((d: unknown, i: number) => {
      const dataset = isRecord(d) ? str(d.dataset) : null;
      if (!dataset) problems.push(`data_access[${i}].dataset is missing`);
      else
        dataAccess.push({
          dataset,
          access_level: (isRecord(d) && str(d.access_level)) || 'read',
          purpose: (isRecord(d) && str(d.purpose)) || '',
        });
    });
  } else if (doc.data_access !== undefined && doc.data_access !== null) {
    problems.push('data_access must be a list');
  }

  const runtime = isRecord(doc.runtime) ? doc.runtime : {};

  if (problems.length > 0) {
    throw new ConfigError(`${source} has problems:\n  - ${problems.join('\n  - ')}`);
  }
  return {
    name: name!,
    description: str(doc.description) ?? '',
    owner: str(doc.owner) ?? '',
    team: str(doc.team) ?? '',
    kind: kind!,
    classification: classification as Classification,
    sso,
    secrets,
    data_access: dataAccess,
    lifecycle: {
      tier: tier as Tier,
      created: lifecycle.created == null ? null : String(lifecycle.created),
      expires: lifecycle.expires == null ? null : String(lifecycle.expires),
    },
    egress: stringList(runtime.egress, 'runtime.egress', []),
    source,
  };
}

/**
 * The OIDC issuer URL. app.yaml wins; OIDC_ISSUER is used when app.yaml says
 * just `sso: oidc`. On a developer laptop (APP_ENV dev or test)
 * OIDC_ISSUER overrides app.yaml so the local fake login server can be used.
 */
export function resolveIssuer(manifest: Manifest, env: Env): string {
  const fromEnv = env.OIDC_ISSUER?.trim();
  if (fromEnv && isLocalDev(env)) return fromEnv;
  const issuer = manifest.sso.issuer ?? fromEnv;
  if (!issuer) {
    throw new ConfigError(
      `No login (OIDC) issuer: ${manifest.source} says "sso: oidc" without an issuer, and OIDC_ISSUER is not set.`,
    );
  }
  return issuer;
}
