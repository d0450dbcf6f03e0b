/**
 * envd's one config: EnvdBootConfig from SANDBOXD_ENVD_CONFIG, validated once. It is read per
 * request, and changed exactly once at most: by the one-shot `POST /init` of a warm-pool sandbox
 * (http/init-route.ts), which sets the owner's access token and env vars and clears `initToken`.
 * This is the only file that reads envd's own environment; user processes never inherit it
 * (the access token lives there).
 */
import {
  decodeEnvdBootConfig,
  decodeEnvdStartConfig,
  ENVD_CONFIG_ENV,
  ENVD_START_ENV,
  type EnvdBootConfig,
  type EnvdStartConfig,
} from '@sandboxd/protocol';

export type EnvdConfig = EnvdBootConfig & {
  /** Interface to listen on: all interfaces inside the sandbox; tests use 127.0.0.1. */
  readonly host: string;
  /** envd's native helper (runtime/native/envd-helper.c: terminals, inotify), bind-mounted by the runtime. */
  readonly envdHelper: string;
  /** The template's start command and ready check, when it has one (start/template-start.ts). */
  readonly start?: EnvdStartConfig;
};

const SANDBOX_HELPER = '/opt/sandboxd/envd-helper';

export function loadEnvdConfig(env: NodeJS.ProcessEnv = process.env): EnvdConfig {
  const raw = env[ENVD_CONFIG_ENV];
  if (!raw) throw new Error(`${ENVD_CONFIG_ENV} is not set`);
  let boot: EnvdBootConfig;
  try {
    boot = decodeEnvdBootConfig(raw);
  } catch (err) {
    throw new Error(`${ENVD_CONFIG_ENV} is not base64 JSON`, { cause: err });
  }
  const problems = validate(boot);
  if (problems.length > 0) throw new Error(`invalid ${ENVD_CONFIG_ENV}: ${problems.join('; ')}`);
  const start = env[ENVD_START_ENV] ? loadStartConfig(env[ENVD_START_ENV]) : undefined;
  return {
    ...boot,
    ...(start ? { start } : {}),
    envVars: { ...boot.envVars },
    host: env.SANDBOXD_ENVD_HOST ?? '0.0.0.0',
    envdHelper: env.SANDBOXD_ENVD_HELPER ?? SANDBOX_HELPER,
  };
}

function loadStartConfig(raw: string): EnvdStartConfig {
  let start: EnvdStartConfig;
  try {
    start = decodeEnvdStartConfig(raw);
  } catch (err) {
    throw new Error(`${ENVD_START_ENV} is not base64 JSON`, { cause: err });
  }
  const problems: string[] = [];
  const s = start?.start;
  if (typeof s?.cmd !== 'string' || s.cmd === '') problems.push('start.cmd must be a command');
  if (typeof s?.user !== 'string' || s.user === '') problems.push('start.user must be a name');
  if (typeof s?.cwd !== 'string' || !s.cwd.startsWith('/')) problems.push('start.cwd must be an absolute path');
  if (s?.env !== undefined && (typeof s.env !== 'object' || Object.values(s.env).some((v) => typeof v !== 'string'))) {
    problems.push('start.env must map names to strings');
  }
  const r = start?.ready;
  if (r !== undefined && (typeof r.cmd !== 'string' || !Number.isInteger(r.timeoutMs) || r.timeoutMs <= 0)) {
    problems.push('ready must be {cmd, timeoutMs > 0}');
  }
  if (problems.length > 0) throw new Error(`invalid ${ENVD_START_ENV}: ${problems.join('; ')}`);
  return start;
}

function validate(boot: EnvdBootConfig): string[] {
  const problems: string[] = [];
  if (typeof boot !== 'object' || boot === null) return ['not an object'];
  if (typeof boot.sandboxId !== 'string') problems.push('sandboxId must be a string');
  if (boot.accessToken !== undefined && typeof boot.accessToken !== 'string') {
    problems.push('accessToken must be a string');
  }
  if (typeof boot.envVars !== 'object' || boot.envVars === null) problems.push('envVars must be an object');
  else if (Object.values(boot.envVars).some((v) => typeof v !== 'string'))
    problems.push('envVars values must be strings');
  if (typeof boot.defaultUser !== 'string' || boot.defaultUser === '') problems.push('defaultUser must be a name');
  if (boot.defaultWorkdir !== undefined && typeof boot.defaultWorkdir !== 'string') {
    problems.push('defaultWorkdir must be a string');
  }
  if (boot.initToken !== undefined && (typeof boot.initToken !== 'string' || boot.initToken.length < 16)) {
    problems.push('initToken must be a string of at least 16 characters');
  }
  if (!Number.isInteger(boot.port) || boot.port < 0 || boot.port > 65535) problems.push('port must be 0..65535');
  return problems;
}
