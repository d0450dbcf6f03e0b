/**
 * How the control plane configures envd at boot: one environment variable on PID 1 carrying
 * base64(JSON(EnvdBootConfig)). envd reads it once and never passes its own environment on to
 * user processes (those get a constructed env), so the token does not leak into commands.
 */
export const ENVD_PORT = 49983;
export const ENVD_VERSION = '0.6.4';
export const ENVD_CONFIG_ENV = 'SANDBOXD_ENVD_CONFIG';

export interface EnvdBootConfig {
  sandboxId: string;
  /** When set, every envd request except GET /health needs `X-Access-Token: <token>` (or a valid signature on /files). */
  accessToken?: string;
  /** Sandbox-wide env vars from create (`envVars`), applied to every process. */
  envVars: Record<string, string>;
  /** User for requests that name none. */
  defaultUser: string;
  /** Working directory when a request names none; the default user's home when absent. */
  defaultWorkdir?: string;
  /** Port envd listens on (all interfaces inside the sandbox's network namespace). */
  port: number;
  /**
   * Set for a pre-started (warm pool) sandbox: envd serves only /health and a one-shot
   * `POST /init` carrying this secret in `X-Init-Token`, which hands it its owner's access token
   * and env vars. Until then every other request answers 503.
   */
  initToken?: string;
}

/**
 * A template's start command and ready check, in a second variable (`ENVD_START_ENV`, same
 * encoding) set by the runtime from the template, not by the control plane. envd runs the start
 * command at boot as `user` in `cwd` with `bash -l -c`, polls the ready command (`bash -c`, same
 * user) until it exits 0, and answers `GET /ready` 204 from then on.
 */
export const ENVD_START_ENV = 'SANDBOXD_ENVD_START';

export interface EnvdStartConfig {
  start: { cmd: string; user: string; cwd: string; env?: Record<string, string> };
  ready?: { cmd: string; timeoutMs: number };
}

export function encodeEnvdStartConfig(config: EnvdStartConfig): string {
  return Buffer.from(JSON.stringify(config), 'utf8').toString('base64');
}

export function decodeEnvdStartConfig(value: string): EnvdStartConfig {
  return JSON.parse(Buffer.from(value, 'base64').toString('utf8')) as EnvdStartConfig;
}

/**
 * Body of envd's one-shot `POST /init`: the hand-over of a warm-pool sandbox to its owner, and of
 * a sandbox restored from a ready snapshot to its new identity.
 */
export interface EnvdInitRequest {
  /** The sandbox's own id (a restored snapshot still carries the snapshot's). */
  sandboxId?: string;
  accessToken?: string;
  envVars: Record<string, string>;
  /**
   * Keep the sandbox unowned, now under this new init token (a restored copy bound for the warm
   * pool): the next /init must carry it.
   */
  initToken?: string;
}

export const INIT_TOKEN_HEADER = 'x-init-token';

export function encodeEnvdBootConfig(config: EnvdBootConfig): string {
  return Buffer.from(JSON.stringify(config), 'utf8').toString('base64');
}

/** envd's environment for a sandbox nobody owns yet (warm pool, ready snapshot): it waits for `POST /init`. */
export function unownedEnvdEnv(sandboxId: string, initToken: string): Record<string, string> {
  return {
    [ENVD_CONFIG_ENV]: encodeEnvdBootConfig({
      sandboxId,
      envVars: {},
      defaultUser: 'user',
      port: ENVD_PORT,
      initToken,
    }),
  };
}

export function decodeEnvdBootConfig(value: string): EnvdBootConfig {
  const parsed = JSON.parse(Buffer.from(value, 'base64').toString('utf8')) as EnvdBootConfig;
  return parsed;
}

/** Headers the E2B SDK sends to envd through the sandbox proxy (which sandbox, which port, the token). */
export const SANDBOX_ID_HEADER = 'e2b-sandbox-id';
export const SANDBOX_PORT_HEADER = 'e2b-sandbox-port';
export const ACCESS_TOKEN_HEADER = 'x-access-token';
