import path from 'node:path';
import { defaultSnapshotsDir } from '@sandboxd/runtime';
import { type CorsOrigins, parseCorsOrigins } from './cors.js';
import type { DiskAdmissionPolicy } from './lifecycle/host-storage.js';
import type { TeamLimits } from './store/store.js';
import { isPlanName, plans } from './teams/plans.js';
import { defaultWarmPoolSizes, parseWarmPoolSizes, type WarmPoolSizes } from './warm-pool-config.js';

/**
 * The one typed Config of the server: defaults → environment (`SANDBOXD_*`) → flags, validated
 * once (every problem listed), then frozen. Nothing else reads process.env.
 */
export interface Config {
  host: string;
  port: number;
  dataDir: string;
  /**
   * Public domain for `<port>-<sandboxId>.<domain>` hosts; returned to SDKs as `domain`. When
   * unset, `localhost:<the port actually bound>` (known only after listening, e.g. with --port 0).
   */
  domain: string | undefined;
  /**
   * Browser origins allowed to call the API and the sandbox proxy (`--cors-origins` /
   * `SANDBOXD_CORS_ORIGINS`, a comma list or `*`); `[]` (the default) sends no CORS headers.
   */
  corsOrigins: CorsOrigins;
  /** A key to register for the default team at start (`SANDBOXD_API_KEY`). */
  apiKey: string | undefined;
  /** A bearer token that may scrape `/metrics` besides the default team's keys (`SANDBOXD_METRICS_TOKEN`). */
  metricsToken?: string | undefined;
  /**
   * Fault injection for the crash tests (`SANDBOXD_FAULT_CRASH_AT`): the server SIGKILLs itself
   * just before the runtime starts this step of an operation (e.g. `pause:checkpoint`,
   * `teardown:unmount`, `runc-run`). Never set it in production.
   */
  faultCrashAt?: string | undefined;
  /** Machine-wide state shared by every data dir (`SANDBOXD_MACHINE_DIR`, default /var/lib/sandboxd). */
  machineDir: string;
  templatesDir: string;
  /** Ready snapshots of the templates, shared by every server on the machine (/var/lib/sandboxd/snapshots). */
  snapshotsDir: string;
  helpersDir: string;
  /** Mount points and other state that a reboot may wipe (`SANDBOXD_RUN_DIR`, default /run/sandboxd). */
  runDir: string;
  envdBundlePath: string;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  /** The default team's plan and limits, applied at every start (the config is their source of truth). */
  defaultTeam: TeamLimits & { plan: string };
  /**
   * Admission against the host's free space on the data dir's filesystem: `reserveMiB` is never
   * planned for (`SANDBOXD_DISK_RESERVE_MIB`); `admission` says how running sandboxes' sparse
   * disks count (`SANDBOXD_DISK_ADMISSION`, see DiskAdmissionPolicy).
   */
  storage: { reserveMiB: number; admission: DiskAdmissionPolicy };
  /** Per API key token bucket; a key's own rate (set with `sandboxd key create`) beats the default. */
  rateLimit: {
    /** Requests per second for keys without their own rate; 0 turns rate limiting off. */
    requestsPerSecond: number;
    /** Bucket size as seconds of the rate: how large a burst a quiet key may send at once. */
    burstSeconds: number;
  };
  sandbox: {
    defaultTimeoutSeconds: number;
    /** Sanity bound on any requested timeout; the team's maxRuntimeSeconds is the real policy. */
    maxTimeoutSeconds: number;
    cpuCount: number;
    memoryMiB: number;
    diskSizeMiB: number;
    pids: number;
    /**
     * Sandboxes kept started ahead of demand, per template (`SANDBOXD_WARM_POOL` / `--warm-pool`:
     * `2` means two of base, `base=2,code-interpreter-v1=1` one pool each; `0` or `{}` is off).
     */
    warmPool: WarmPoolSizes;
  };
  limits: {
    maxJsonBodyBytes: number;
    maxMetadataEntries: number;
    maxMetadataKeyLength: number;
    maxMetadataValueLength: number;
    maxEnvVars: number;
    maxEnvValueBytes: number;
  };
}

export interface ConfigSources {
  env: Record<string, string | undefined>;
  argv: string[];
  repoRoot: string;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

const flagNames = [
  'port',
  'host',
  'data-dir',
  'domain',
  'log-level',
  'templates-dir',
  'warm-pool',
  'cors-origins',
] as const;

function parseFlags(argv: string[], problems: string[]): Map<string, string> {
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (!arg.startsWith('--')) {
      problems.push(`unexpected argument '${arg}'`);
      continue;
    }
    // Split at the first '=' only: a value may hold more (`--warm-pool=base=2`).
    const body = arg.slice(2);
    const eq = body.indexOf('=');
    const name = eq < 0 ? body : body.slice(0, eq);
    const inline = eq < 0 ? undefined : body.slice(eq + 1);
    if (!(flagNames as readonly string[]).includes(name)) {
      problems.push(`unknown flag --${name} (known: ${flagNames.map((f) => `--${f}`).join(', ')})`);
      continue;
    }
    const value = inline ?? argv[++i];
    if (value === undefined) problems.push(`flag --${name} needs a value`);
    else flags.set(name, value);
  }
  return flags;
}

export function loadConfig({ env, argv, repoRoot }: ConfigSources): Readonly<Config> {
  const problems: string[] = [];
  const flags = parseFlags(argv, problems);
  const pick = (flag: string, envName: string): string | undefined => flags.get(flag) ?? env[envName];

  const portText = pick('port', 'SANDBOXD_PORT') ?? '3000';
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 0 || port > 65535) problems.push(`port must be 0..65535, got '${portText}'`);

  const logLevel = pick('log-level', 'SANDBOXD_LOG_LEVEL') ?? 'info';
  if (!['debug', 'info', 'warn', 'error'].includes(logLevel)) problems.push(`unknown log level '${logLevel}'`);

  const dataDir = path.resolve(pick('data-dir', 'SANDBOXD_DATA_DIR') ?? path.join(repoRoot, '.data'));
  const machineDir = env.SANDBOXD_MACHINE_DIR ?? '/var/lib/sandboxd';
  const apiKey = env.SANDBOXD_API_KEY?.trim() || undefined;
  if (apiKey !== undefined && !/^e2b_[0-9a-f]{16,128}$/.test(apiKey)) {
    problems.push('SANDBOXD_API_KEY must look like e2b_ followed by 16 to 128 lowercase hex digits');
  }

  const maxTimeoutSeconds = 30 * 24 * 3600;
  const intEnv = (name: string, fallback: number, min: number, max: number): number => {
    const text = env[name];
    if (text === undefined || text === '') return fallback;
    const value = Number(text);
    if (!Number.isInteger(value) || value < min || value > max) {
      problems.push(`${name} must be a whole number from ${min} to ${max}, got '${text}'`);
    }
    return value;
  };
  // Tasks (processes and threads) per sandbox. A fork bomb fills its sandbox to this limit and
  // keeps forking; at 4096 tasks a neighbour's commands took up to 1.5 s (p95 6× idle) on a
  // 2-core host, at 1024 they stayed at idle latency (`npm run bench -- noisy`).
  const pids = intEnv('SANDBOXD_SANDBOX_PIDS', 1024, 16, 1 << 22);
  const memoryMiB = intEnv('SANDBOXD_SANDBOX_MEMORY_MIB', 2048, 128, 1 << 20);
  const cpuCount = intEnv('SANDBOXD_SANDBOX_CPUS', 2, 1, 256);
  const warmPoolText = pick('warm-pool', 'SANDBOXD_WARM_POOL');
  const warmPoolSource = flags.has('warm-pool') ? '--warm-pool' : 'SANDBOXD_WARM_POOL';
  const parsedPool =
    warmPoolText === undefined || warmPoolText === '' ? undefined : parseWarmPoolSizes(warmPoolText, warmPoolSource);
  problems.push(...(parsedPool?.problems ?? []));
  const warmPool = parsedPool?.sizes ?? defaultWarmPoolSizes;

  const cors = parseCorsOrigins(
    pick('cors-origins', 'SANDBOXD_CORS_ORIGINS'),
    flags.has('cors-origins') ? '--cors-origins' : 'SANDBOXD_CORS_ORIGINS',
  );
  problems.push(...cors.problems);

  const planName = env.SANDBOXD_PLAN?.trim() || 'pro';
  const plan = isPlanName(planName) ? plans[planName] : plans.pro;
  if (!isPlanName(planName)) {
    problems.push(`SANDBOXD_PLAN must be one of ${Object.keys(plans).join(', ')}, got '${planName}'`);
  }
  const maxConcurrentSandboxes = intEnv('SANDBOXD_MAX_CONCURRENT_SANDBOXES', plan.maxConcurrentSandboxes, 1, 100_000);
  const maxRuntimeSeconds = intEnv('SANDBOXD_MAX_RUNTIME_SECONDS', plan.maxRuntimeSeconds, 1, maxTimeoutSeconds);
  // 64 MiB: the smallest ext4 with a journal that still holds a sandbox's first writes.
  const diskSizeMiB = intEnv('SANDBOXD_SANDBOX_DISK_MIB', 10240, 64, 1 << 24);
  // As the presets are made: as many paused sandboxes as may run, and disk for all of them, so a
  // smaller concurrent limit or disk size shrinks these too unless they are set.
  const maxPausedSandboxes = intEnv('SANDBOXD_MAX_PAUSED_SANDBOXES', maxConcurrentSandboxes, 1, 1_000_000);
  const maxDiskMiB = intEnv(
    'SANDBOXD_MAX_TEAM_DISK_MIB',
    (maxConcurrentSandboxes + maxPausedSandboxes) * diskSizeMiB,
    1,
    2 ** 40,
  );
  const reserveMiB = intEnv('SANDBOXD_DISK_RESERVE_MIB', 2048, 0, 1 << 30);
  const admission = env.SANDBOXD_DISK_ADMISSION?.trim() || 'headroom';
  if (admission !== 'headroom' && admission !== 'strict') {
    problems.push(`SANDBOXD_DISK_ADMISSION must be headroom or strict, got '${admission}'`);
  }
  const requestsPerSecond = intEnv('SANDBOXD_RATE_LIMIT', 100, 0, 1_000_000);
  const burstSeconds = intEnv('SANDBOXD_RATE_BURST_SECONDS', 3, 1, 3600);

  if (problems.length > 0) throw new ConfigError(problems);
  const templatesDir = path.resolve(
    pick('templates-dir', 'SANDBOXD_TEMPLATES_DIR') ?? path.join(machineDir, 'templates'),
  );

  const config: Config = {
    host: pick('host', 'SANDBOXD_HOST') ?? '127.0.0.1',
    port,
    dataDir,
    domain: pick('domain', 'SANDBOXD_DOMAIN'),
    corsOrigins: [...cors.origins],
    apiKey,
    metricsToken: env.SANDBOXD_METRICS_TOKEN?.trim() || undefined,
    faultCrashAt: env.SANDBOXD_FAULT_CRASH_AT?.trim() || undefined,
    machineDir: path.resolve(machineDir),
    templatesDir,
    snapshotsDir: defaultSnapshotsDir(templatesDir),
    helpersDir: path.join(machineDir, 'helpers'),
    runDir: path.resolve(env.SANDBOXD_RUN_DIR ?? '/run/sandboxd'),
    envdBundlePath: path.join(repoRoot, 'packages/envd/dist/envd.mjs'),
    logLevel: logLevel as Config['logLevel'],
    defaultTeam: { plan: planName, maxConcurrentSandboxes, maxRuntimeSeconds, maxPausedSandboxes, maxDiskMiB },
    storage: { reserveMiB, admission: admission as DiskAdmissionPolicy },
    rateLimit: { requestsPerSecond, burstSeconds },
    sandbox: {
      defaultTimeoutSeconds: 300,
      maxTimeoutSeconds,
      cpuCount,
      memoryMiB,
      diskSizeMiB,
      pids,
      warmPool: { ...warmPool },
    },
    limits: {
      maxJsonBodyBytes: 1024 * 1024,
      maxMetadataEntries: 64,
      maxMetadataKeyLength: 256,
      maxMetadataValueLength: 4096,
      maxEnvVars: 512,
      maxEnvValueBytes: 128 * 1024,
    },
  };
  return deepFreeze(config);
}

function deepFreeze<T extends object>(value: T): Readonly<T> {
  for (const inner of Object.values(value)) {
    if (inner && typeof inner === 'object') deepFreeze(inner as object);
  }
  return Object.freeze(value);
}
