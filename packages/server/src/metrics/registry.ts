import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { StorageFigures } from '../lifecycle/host-storage.js';

/** Prometheus metrics of one server instance (no global registry: two servers may share a process). */
export function createMetrics(sources: {
  runningSandboxes: () => number;
  /** Ready sandboxes of each template that has a pool. */
  warmPoolReady?: () => Array<{ templateId: string; ready: number }>;
  /** Open `GET /events` streams (how many connections event clients hold). */
  eventStreams?: () => number;
  /** The host's free space as the storage admission sees it. */
  storage?: () => Promise<StorageFigures>;
}) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'sandboxd_process_' });
  return {
    registry,
    httpRequests: new Counter({
      name: 'sandboxd_http_requests_total',
      help: 'Control-plane HTTP requests by route class and status',
      labelNames: ['method', 'status'] as const,
      registers: [registry],
    }),
    sandboxCreateSeconds: new Histogram({
      name: 'sandboxd_sandbox_create_seconds',
      help: 'Time from create request to a serving envd',
      buckets: [0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 1, 2, 5, 10],
      registers: [registry],
    }),
    runtimeCreateSeconds: new Histogram({
      name: 'sandboxd_runtime_create_seconds',
      help: "Time the runtime took to start a sandbox, by source: 'snapshot' (restored from its template's ready snapshot) or 'cold'",
      labelNames: ['from'] as const,
      buckets: [0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 1, 2, 5, 10],
      registers: [registry],
    }),
    sandboxesRunning: new Gauge({
      name: 'sandboxd_sandboxes_running',
      help: 'Sandboxes currently routed (running)',
      registers: [registry],
      collect() {
        this.set(sources.runningSandboxes());
      },
    }),
    eventStreams: new Gauge({
      name: 'sandboxd_event_streams',
      help: 'Open lifecycle event streams (GET /events connections)',
      registers: [registry],
      collect() {
        this.set(sources.eventStreams?.() ?? 0);
      },
    }),
    warmPoolReady: new Gauge({
      name: 'sandboxd_warm_pool_ready',
      help: 'Warm pool sandboxes started and ready to be handed out (not those still starting), by template',
      labelNames: ['template'] as const,
      registers: [registry],
      collect() {
        // Every configured pool shows, at 0 too; no pool, no series.
        this.reset();
        for (const { templateId, ready } of sources.warmPoolReady?.() ?? []) this.set({ template: templateId }, ready);
      },
    }),
    hostDiskFree: new Gauge({
      name: 'sandboxd_host_disk_free_bytes',
      help: "Free bytes on the data directory's filesystem (what creates and pauses are admitted against)",
      registers: [registry],
      async collect() {
        const figures = await sources.storage?.();
        if (figures) this.set(figures.freeBytes);
      },
    }),
    hostDiskReserved: new Gauge({
      name: 'sandboxd_host_disk_reserved_bytes',
      help: "Bytes admission keeps off-limits, by kind: 'reserve' (kept free for the host), 'in_flight' (what admitted creates and pauses may still write), 'committed' (strict admission: what running sandboxes' disks may still grow by)",
      labelNames: ['kind'] as const,
      registers: [registry],
      async collect() {
        const figures = await sources.storage?.();
        if (!figures) return;
        this.set({ kind: 'reserve' }, figures.reserveBytes);
        this.set({ kind: 'in_flight' }, figures.inFlightBytes);
        this.set({ kind: 'committed' }, figures.committedBytes);
      },
    }),
    rateLimited: new Counter({
      name: 'sandboxd_rate_limited_requests_total',
      help: 'API requests refused with 429 by the per-key rate limit',
      registers: [registry],
    }),
    expiryLatenessSeconds: new Histogram({
      name: 'sandboxd_sandbox_expiry_lateness_seconds',
      help: 'How long after its endAt an expiring sandbox stopped serving',
      buckets: [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5],
      registers: [registry],
    }),
    pauseSeconds: new Histogram({
      name: 'sandboxd_sandbox_pause_seconds',
      help: 'Time to pause a sandbox until its state is durable, by what it kept',
      labelNames: ['memory'] as const,
      buckets: [0.1, 0.2, 0.3, 0.5, 0.8, 1, 2, 5, 10],
      registers: [registry],
    }),
    resumeSeconds: new Histogram({
      name: 'sandboxd_sandbox_resume_seconds',
      help: 'Time to resume a paused sandbox until envd serves',
      buckets: [0.1, 0.2, 0.3, 0.5, 0.8, 1, 2, 5, 10],
      registers: [registry],
    }),
    proxiedStreams: new Gauge({
      name: 'sandboxd_proxy_open_streams',
      help: 'Requests currently proxied to sandboxes',
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
