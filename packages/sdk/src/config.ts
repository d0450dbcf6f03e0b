import type { ConnectionOpts } from 'e2b';

/** The local server's default address (`sandboxd serve` listens there unless told otherwise). */
export const DEFAULT_URL = 'http://127.0.0.1:3000';

/**
 * Reads an environment variable where one exists. Browsers have no `process`; bundlers may
 * define `process.env` partially, so every step is guarded and nothing from `node:` is imported.
 */
export function readEnv(name: string): string | undefined {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  const value = env?.[name];
  return value === undefined || value === '' ? undefined : value;
}

/**
 * Fills `apiUrl`, `sandboxUrl` and `apiKey` that the caller left out, in this order: the option,
 * `SANDBOXD_*`, `E2B_*`, then the local server. The sandbox URL falls back to the API URL because
 * sandboxd serves both on one port. When a `domain` is configured (option or `E2B_DOMAIN`) and no
 * URL is, the caller addresses an E2B-style deployment by its domain: the URLs are left to e2b.
 */
export function withSandboxdDefaults<T extends ConnectionOpts>(opts: T | undefined): T {
  const given = (opts ?? {}) as T;
  const apiKey = given.apiKey ?? readEnv('SANDBOXD_API_KEY') ?? readEnv('E2B_API_KEY');
  const explicitApiUrl = given.apiUrl ?? readEnv('SANDBOXD_API_URL') ?? readEnv('E2B_API_URL');
  const explicitSandboxUrl = given.sandboxUrl ?? readEnv('SANDBOXD_SANDBOX_URL') ?? readEnv('E2B_SANDBOX_URL');
  const byDomain = explicitApiUrl === undefined && (given.domain ?? readEnv('E2B_DOMAIN')) !== undefined;
  const apiUrl = explicitApiUrl ?? (byDomain ? undefined : DEFAULT_URL);
  const sandboxUrl = explicitSandboxUrl ?? apiUrl;
  return {
    ...given,
    ...(apiKey === undefined ? {} : { apiKey }),
    ...(apiUrl === undefined ? {} : { apiUrl: stripSlash(apiUrl) }),
    ...(sandboxUrl === undefined ? {} : { sandboxUrl: stripSlash(sandboxUrl) }),
  };
}

function stripSlash(url: string): string {
  return url.endsWith('/') ? url.slice(0, -1) : url;
}
