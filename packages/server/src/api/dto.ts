import type { SandboxRecord } from '../store/store.js';

/**
 * Domain → wire. Field names keep E2B's spelling exactly (`sandboxID`, `templateID`); this is the
 * only place that knows them.
 */
export interface WireContext {
  /** Read per response: the default domain is known only once the server listens. */
  domain(): string;
}

export function toSandboxWire(r: SandboxRecord, ctx: WireContext) {
  return {
    templateID: r.templateId,
    sandboxID: r.id,
    clientID: 'sandboxd',
    envdVersion: r.envdVersion,
    ...(r.alias ? { alias: r.alias } : {}),
    ...(r.envdAccessToken ? { envdAccessToken: r.envdAccessToken } : {}),
    trafficAccessToken: null,
    domain: ctx.domain(),
  };
}

export function toListedSandboxWire(r: SandboxRecord) {
  return {
    templateID: r.templateId,
    ...(r.alias ? { alias: r.alias } : {}),
    sandboxID: r.id,
    clientID: 'sandboxd',
    startedAt: new Date(r.startedAt).toISOString(),
    endAt: new Date(r.endAt).toISOString(),
    cpuCount: r.cpuCount,
    memoryMB: r.memoryMiB,
    diskSizeMB: r.diskSizeMiB,
    metadata: r.metadata,
    state: r.state === 'paused' ? 'paused' : 'running',
    // Ours: the server's own state, finer than E2B's two (creating, running, pausing, paused, resuming).
    phase: r.state,
    envdVersion: r.envdVersion,
    volumeMounts: [],
  };
}

export function toSandboxDetailWire(r: SandboxRecord, ctx: WireContext) {
  return {
    ...toListedSandboxWire(r),
    ...(r.envdAccessToken ? { envdAccessToken: r.envdAccessToken } : {}),
    allowInternetAccess: r.allowInternetAccess,
    domain: ctx.domain(),
    lifecycle: { onTimeout: r.autoPause ? 'pause' : 'kill', autoResume: r.autoResume },
  };
}
