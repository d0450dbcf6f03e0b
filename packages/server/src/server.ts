import fs from 'node:fs';
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { getRequestListener } from '@hono/node-server';
import { type Logger, Scope, systemClock } from '@sandboxd/common';
import { builtInRecipes, currentTemplateBuild, RuncRuntime } from '@sandboxd/runtime';
import { createApi } from './api/app.js';
import { bootstrapApiKey } from './api-key-bootstrap.js';
import type { Config } from './config.js';
import { createCors } from './cors.js';
import { lockDataDir } from './data-dir-lock.js';
import { closeHttpServer, createHttpFront } from './http-front.js';
import { HostStorage, MiB } from './lifecycle/host-storage.js';
import { SandboxService } from './lifecycle/sandbox-service.js';
import { WarmPools } from './lifecycle/warm-pools.js';
import { createMetrics } from './metrics/registry.js';
import { SandboxProxy } from './proxy/sandbox-proxy.js';
import { StartupError } from './startup-error.js';
import { SqliteStore } from './store/sqlite/sqlite-store.js';
import { resolveTemplate } from './templates/resolve-template.js';

export interface RunningServer {
  url: string;
  port: number;
  /** The default team's key when this server knows it in clear (configured or generated here). */
  apiKey: string | undefined;
  /**
   * Graceful stop: no new connections, in-flight operations finish, the warm pool's sandboxes
   * (started or starting) are killed; owned sandboxes keep running. Idempotent.
   */
  close(): Promise<void>;
}

export interface StartOptions {
  /** Aborting it (SIGTERM during start-up) undoes whatever was started and rejects. */
  signal?: AbortSignal;
}

/** Busy connections get this long to finish at shutdown before they are cut. */
const shutdownGraceMs = 2_000;

/**
 * Composition root: builds every object, reconciles the store with the runtime, then serves the
 * REST API and the sandbox proxy on one port. Only this file names concrete implementations.
 *
 * Start-up is transactional: each part registers its undo in one scope right after it exists, so
 * a failure (data directory in use, port taken) or an abort undoes exactly what was started, and
 * `close()` is the same scope run to the end.
 */
export async function startServer(
  config: Readonly<Config>,
  logger: Logger,
  options: StartOptions = {},
): Promise<RunningServer> {
  const scope = new Scope();
  const undo = async (): Promise<void> => {
    for (const err of await scope.dispose()) logger.error('shutdown step failed', { err });
  };
  try {
    const started = await start(config, logger, scope, options.signal);
    let closing: Promise<void> | undefined;
    const close = async () => {
      await undo();
      logger.info('sandboxd stopped');
    };
    return { ...started, close: () => (closing ??= close()) };
  } catch (err) {
    await undo();
    throw err;
  }
}

async function start(
  config: Readonly<Config>,
  logger: Logger,
  scope: Scope,
  signal: AbortSignal | undefined,
): Promise<Omit<RunningServer, 'close'>> {
  const checkpoint = () => signal?.throwIfAborted();
  checkpoint();
  fs.mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  // Before anything reads or writes the directory: a second server must not touch the first's sandboxes.
  const lock = lockDataDir(config.dataDir);
  scope.defer('release the data directory', () => lock.release());
  // 8 MiB: thousands of kills' row changes, so sandboxes can still be killed (freeing space) on a full disk.
  const store = new SqliteStore(path.join(config.dataDir, 'sandboxd.db'), { reserveBytes: 8 * 1024 * 1024 });
  scope.defer('close the store', () => store.close());
  store.migrate();
  const apiKey = bootstrapApiKey(store, config.dataDir, config.apiKey, config.defaultTeam);

  const runtime = new RuncRuntime({
    stateDir: path.join(config.dataDir, 'runtime'),
    templatesDir: config.templatesDir,
    snapshotsDir: config.snapshotsDir,
    helpersDir: config.helpersDir,
    envdBundlePath: config.envdBundlePath,
    runDir: config.runDir,
    logger: logger.child({ component: 'runtime' }),
    ...(config.faultCrashAt ? { beforeStep: crashBefore(config.faultCrashAt, logger) } : {}),
  });
  await runtime.init();
  checkpoint();

  const limits = {
    cpuCount: config.sandbox.cpuCount,
    memoryMiB: config.sandbox.memoryMiB,
    diskSizeMiB: config.sandbox.diskSizeMiB,
    pids: config.sandbox.pids,
  };
  const pools = new WarmPools({
    sizes: config.sandbox.warmPool,
    limits,
    runtime,
    templateBuild: async (id) => (await currentTemplateBuild(config.templatesDir, id))?.build,
    buildHint: (id) => (Object.hasOwn(builtInRecipes, id) ? `sandboxd template build ${id}` : undefined),
    logger: logger.child({ component: 'warm-pool' }),
  });
  // Pool sandboxes belong to nobody: none may outlive the server, including those still starting.
  scope.defer('kill the warm pools', () => pools.close());
  // Disks and pause images live under the data dir: its filesystem's free space is what admits.
  const storage = new HostStorage({
    dir: config.dataDir,
    reserveBytes: config.storage.reserveMiB * MiB,
    policy: config.storage.admission,
    committedGrowth: async () => {
      const growing = store.sandboxesInStates(['creating', 'running', 'resuming']);
      const grows = await Promise.all(
        growing.map(async (r) => {
          const used = (await runtime.diskUsage(r.id))?.allocatedBytes ?? 0;
          return Math.max(0, r.diskSizeMiB * MiB - used);
        }),
      );
      return grows.reduce((a, b) => a + b, 0);
    },
  });
  // Metrics first: the service reports expiries into them; they read the service lazily.
  const metrics = createMetrics({
    storage: () => storage.figures(),
    runningSandboxes: () => service.runningCount(),
    warmPoolReady: () => pools.readyCounts(),
    eventStreams: () => service.events.subscriberCount(),
  });
  const service: SandboxService = new SandboxService({
    store,
    runtime,
    clock: systemClock,
    logger: logger.child({ component: 'lifecycle' }),
    limits,
    resolveTemplate: (id) => resolveTemplate(config.templatesDir, id),
    pools,
    storage,
    hooks: {
      expired: (ms) => metrics.expiryLatenessSeconds.observe(ms / 1000),
      paused: (ms, memory) => metrics.pauseSeconds.observe({ memory: String(memory) }, ms / 1000),
      resumed: (ms) => metrics.resumeSeconds.observe(ms / 1000),
      created: (ms, from) => metrics.runtimeCreateSeconds.observe({ from }, ms / 1000),
    },
  });
  scope.defer('close the lifecycle', () => service.close());
  const proxy = new SandboxProxy({
    route: (id) => service.route(id),
    signedCandidates: () =>
      store
        .sandboxesInStates(['running'])
        .flatMap((r) => (r.envdAccessToken ? [{ sandboxId: r.id, envdAccessToken: r.envdAccessToken }] : [])),
    logger,
    metrics,
  });
  scope.defer('close the proxy', () => proxy.close());
  service.onStop((id) => proxy.dropSandbox(id));
  const reconciled = await service.reconcile();
  logger.info('reconciled with the runtime', {
    adopted: reconciled.adopted.length,
    paused: reconciled.paused.length,
    lost: reconciled.lost.length,
    swept: reconciled.swept.length,
  });
  checkpoint();

  let boundPort = config.port;
  const api = createApi({
    config,
    store,
    service,
    metrics,
    logger,
    clock: systemClock,
    publicDomain: () => config.domain ?? `localhost:${boundPort}`,
  });
  const cors = createCors(config.corsOrigins);
  const server = createHttpFront({ api: getRequestListener(api.fetch), proxy, service, cors });
  scope.defer('stop serving', () => {
    // Live event streams would hold the HTTP server open.
    service.closeEventStreams();
    return closeHttpServer(server, shutdownGraceMs);
  });
  await listen(server, config.host, config.port);
  checkpoint();
  const port = (server.address() as AddressInfo).port;
  boundPort = port;
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  logger.info('sandboxd listening', {
    url,
    dataDir: config.dataDir,
    ...(config.corsOrigins.length ? { corsOrigins: config.corsOrigins } : {}),
  });

  // Only once serving: the start-up sweep would take pool sandboxes for orphans, and a start-up
  // that fails must not leave any behind. A pool whose template is not built waits for it.
  // Pools of built-in templates with a start command wait for their ready snapshot: filling them
  // first would boot them cold (seconds of Jupyter start-up) beside the snapshot's own cold boot.
  const awaitsSnapshot = (id: string) => Object.hasOwn(builtInRecipes, id) && !!builtInRecipes[id]?.start;
  pools.fill((id) => !awaitsSnapshot(id));
  if (pools.templateIds().length > 0) logger.info('warm pools filling', { pools: config.sandbox.warmPool });
  // Templates with a start command get their ready snapshot now, in the background, unless the
  // machine's store has it (made by `sandboxd setup` or another server): until it exists their
  // creates boot cold (and a create would start making it anyway). A stop waits for the one this
  // server makes, so no snapshot sandbox outlives it, but not for another process making one.
  const stopWaiting = new AbortController();
  const snapshots = runtime
    .ensureReadySnapshots(limits, stopWaiting.signal)
    .then(
      (current) => {
        if (current.length > 0) {
          logger.info('ready snapshots current', {
            templates: current.map((m) => m.templateId),
            made: current.filter((m) => m.made).map((m) => m.templateId),
          });
        }
      },
      (err) => {
        if (!stopWaiting.signal.aborted) logger.warn('ready snapshots not made', { err });
      },
    )
    // Made or not: a pool without a snapshot fills cold, as its creates start.
    .finally(() => pools.fill(awaitsSnapshot));
  scope.defer('finish the ready snapshots', () => {
    stopWaiting.abort();
    return snapshots;
  });
  checkpoint();
  return { url, port, apiKey };
}

function listen(server: http.Server, host: string, port: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const failed = (err: NodeJS.ErrnoException) => {
      const where = `${host.includes(':') ? `[${host}]` : host}:${port}`;
      const reason = err.code === 'EADDRINUSE' ? 'the address is already in use' : err.message;
      reject(new StartupError(`cannot listen on ${where}: ${reason}`, { cause: err }));
    };
    server.once('error', failed);
    server.listen(port, host, () => {
      server.off('error', failed);
      resolve();
    });
  });
}

/** The crash tests' fault: die as a power cut would, just before the runtime takes `step`. */
function crashBefore(step: string, logger: Logger) {
  return (current: string, sandboxId: string) => {
    if (current !== step) return;
    logger.warn('fault injection: SIGKILL', { step, sandboxId });
    process.kill(process.pid, 'SIGKILL');
  };
}
