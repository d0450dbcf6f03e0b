import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { getRequestListener } from '@hono/node-server';
import { type Logger, systemClock } from '@sandboxd/common';
import { isTemplateBuilt, RuncRuntime } from '@sandboxd/runtime';
import { createApi } from './api/app.js';
import { bootstrapApiKey } from './api-key-bootstrap.js';
import type { Config } from './config.js';
import { SandboxService } from './lifecycle/sandbox-service.js';
import { WarmPool } from './lifecycle/warm-pool.js';
import { createMetrics } from './metrics/registry.js';
import { matchSandboxRequest } from './proxy/match.js';
import { SandboxProxy } from './proxy/sandbox-proxy.js';
import { SqliteStore } from './store/sqlite/sqlite-store.js';

export interface RunningServer {
  url: string;
  port: number;
  /** The default team's key when this server knows it in clear (configured or generated here). */
  apiKey: string | undefined;
  /** Graceful stop: no new requests, in-flight operations finish; sandboxes keep running. */
  close(): Promise<void>;
}

/**
 * Composition root: builds every object, reconciles the store with the runtime, then serves the
 * REST API and the sandbox proxy on one port. Only this file names concrete implementations.
 */
export async function startServer(config: Readonly<Config>, logger: Logger): Promise<RunningServer> {
  fs.mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const store = new SqliteStore(path.join(config.dataDir, 'sandboxd.db'));
  store.migrate();
  const apiKey = bootstrapApiKey(store, config.dataDir, config.apiKey, config.defaultTeam);

  const runtime = new RuncRuntime({
    stateDir: path.join(config.dataDir, 'runtime'),
    templatesDir: config.templatesDir,
    helpersDir: config.helpersDir,
    envdBundlePath: config.envdBundlePath,
    runDir: config.runDir,
    logger: logger.child({ component: 'runtime' }),
  });
  await runtime.init();

  const limits = {
    cpuCount: config.sandbox.cpuCount,
    memoryMiB: config.sandbox.memoryMiB,
    diskSizeMiB: config.sandbox.diskSizeMiB,
    pids: config.sandbox.pids,
  };
  const pool =
    config.sandbox.warmPoolSize > 0
      ? new WarmPool({
          size: config.sandbox.warmPoolSize,
          templateId: 'base',
          limits,
          runtime,
          logger: logger.child({ component: 'warm-pool' }),
        })
      : undefined;
  // Metrics first: the service reports expiries into them; they read the service lazily.
  const metrics = createMetrics({ runningSandboxes: () => service.runningCount() });
  const service: SandboxService = new SandboxService({
    store,
    runtime,
    clock: systemClock,
    logger: logger.child({ component: 'lifecycle' }),
    limits,
    templateExists: (id) => isTemplateBuilt(config.templatesDir, id),
    ...(pool ? { pool } : {}),
    hooks: {
      expired: (ms) => metrics.expiryLatenessSeconds.observe(ms / 1000),
      paused: (ms, memory) => metrics.pauseSeconds.observe({ memory: String(memory) }, ms / 1000),
      resumed: (ms) => metrics.resumeSeconds.observe(ms / 1000),
    },
  });
  const proxy = new SandboxProxy({
    route: (id) => service.route(id),
    signedCandidates: () =>
      store
        .sandboxesInStates(['running'])
        .flatMap((r) => (r.envdAccessToken ? [{ sandboxId: r.id, envdAccessToken: r.envdAccessToken }] : [])),
    logger,
    metrics,
  });
  service.onStop((id) => proxy.dropSandbox(id));
  const reconciled = await service.reconcile();
  logger.info('reconciled with the runtime', {
    adopted: reconciled.adopted.length,
    paused: reconciled.paused.length,
    lost: reconciled.lost.length,
    swept: reconciled.swept.length,
  });

  // Only now: the sweep above would have taken pool sandboxes for orphans.
  if (pool && (await isTemplateBuilt(config.templatesDir, pool.templateId))) pool.fill();

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
  const apiListener = getRequestListener(api.fetch);
  // Traffic for a sandbox that is not routed may wake it (paused with autoResume) first.
  const wake = (target: ReturnType<typeof matchSandboxRequest>): Promise<void> | undefined =>
    target && target !== 'invalid' && !service.route(target.sandboxId)
      ? service.wakeOnTraffic(target.sandboxId)
      : undefined;
  const server = http.createServer((req, res) => {
    const target = matchSandboxRequest(req.headers) ?? proxy.matchSignedFiles(req);
    if (!target) {
      void apiListener(req, res);
      return;
    }
    const waking = wake(target);
    if (waking) void waking.then(() => proxy.handle(req, res, target));
    else proxy.handle(req, res, target);
  });
  server.on('upgrade', (req, socket, head) => {
    const target = matchSandboxRequest(req.headers);
    if (!target) {
      socket.destroy();
      return;
    }
    const waking = wake(target);
    if (waking) void waking.then(() => proxy.handleUpgrade(req, socket, head, target));
    else proxy.handleUpgrade(req, socket, head, target);
  });
  // Proxied uploads and streams may legitimately take hours; headers must still arrive promptly.
  server.requestTimeout = 0;
  server.headersTimeout = 60_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  boundPort = port;
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  logger.info('sandboxd listening', { url, dataDir: config.dataDir });

  let closing: Promise<void> | undefined;
  return {
    url,
    port,
    apiKey,
    close: () => {
      closing ??= (async () => {
        service.closeEventStreams();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeIdleConnections();
          // Proxied streams are not ours to wait for: they belong to sandboxes that keep running.
          setTimeout(() => server.closeAllConnections(), 2_000).unref();
        });
        await service.close();
        proxy.close();
        store.close();
      })();
      return closing;
    },
  };
}
