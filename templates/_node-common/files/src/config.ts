// Small helpers for reading settings from environment variables.
// Everything that differs between your laptop and a deployed app comes from
// the environment (or app.yaml), never from constants in the code.

export type Env = Readonly<Record<string, string | undefined>>;

/** A setting is missing or wrong. The message is written for the person running the app. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * APP_ENV: "dev" on a developer laptop (npm run dev), "test" in the app's own tests. Anything else,
 * or nothing, means deployed: https only, no fake login, HSTS, no bundled sample data.
 * (NODE_ENV is left to libraries; it changes nothing in this app's behaviour.)
 */
export function appEnv(env: Env): string {
  return env.APP_ENV?.trim() || 'production';
}

/** True on a developer laptop or in tests (APP_ENV "dev" or "test"). */
export function isLocalDev(env: Env): boolean {
  const value = appEnv(env);
  return value === 'dev' || value === 'test';
}

/**
 * Parse a URL setting and insist on https. Plain http is accepted only for
 * local development and tests, where the login server, Vault, etc. run on
 * the developer's own machine.
 */
export function requireSecureUrl(raw: string, what: string, env: Env): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`${what} is not a valid URL: "${raw}"`);
  }
  if (url.protocol === 'https:') return url;
  if (url.protocol === 'http:' && isLocalDev(env)) return url;
  throw new ConfigError(
    `${what} must start with https:// (got "${url.protocol}//${url.host}"). ` +
      'Plain http is only allowed with APP_ENV=dev or APP_ENV=test.',
  );
}

/** Read a whole number from the environment, with a default and bounds. */
export function intFromEnv(env: Env, name: string, fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be a whole number between ${min} and ${max} (got "${raw}")`);
  }
  return value;
}

/** Read a required setting. */
export function requiredEnv(env: Env, name: string, hint: string): string {
  const value = env[name];
  if (value === undefined || value.trim() === '') {
    throw new ConfigError(`${name} is not set. ${hint}`);
  }
  return value.trim();
}
