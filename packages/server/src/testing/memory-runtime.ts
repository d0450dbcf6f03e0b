import { SandboxdError } from '@sandboxd/common';
import type {
  PausedSandbox,
  PauseOptions,
  ResumeOptions,
  RuntimeSandbox,
  SandboxEndpoint,
  SandboxRuntime,
  SandboxSpec,
} from '@sandboxd/runtime';

/**
 * An in-memory SandboxRuntime for tests and benchmarks of lifecycle logic (state machine,
 * deadlines, listing), not of isolation: the e2e suites run real sandboxes for that.
 */
export class MemoryRuntime implements SandboxRuntime {
  readonly live = new Map<string, SandboxEndpoint>();
  readonly paused = new Map<string, { endpoint: SandboxEndpoint; record: PausedSandbox }>();
  failNextCreate = false;
  failNextResume = false;
  killDelayMs = 0;
  /** Kills that fail as a teardown blocked by a mount does: the sandbox is stopped, its rest stays. */
  failKills = 0;
  /** How long pause and resume take, so tests can race other operations against them. */
  pauseDelayMs = 0;
  /** Every pause fails as a sandbox that will not freeze does: it keeps running. */
  refusePauses = false;
  pauseCalls = 0;

  async init() {}

  async create(spec: SandboxSpec): Promise<SandboxEndpoint> {
    if (this.failNextCreate) {
      this.failNextCreate = false;
      throw new Error('injected create failure');
    }
    const endpoint = { sandboxId: spec.sandboxId, address: '10.200.0.2', envdPort: 49983, pid: 1 };
    this.live.set(spec.sandboxId, endpoint);
    this.#diskSizes.set(spec.sandboxId, spec.limits.diskSizeMiB * 1024 * 1024);
    return endpoint;
  }

  async pause(id: string, options: PauseOptions = {}): Promise<PausedSandbox> {
    this.pauseCalls++;
    const endpoint = this.live.get(id);
    if (!endpoint) {
      throw new SandboxdError(this.paused.has(id) ? 'INVALID_TRANSITION' : 'SANDBOX_NOT_FOUND', `sandbox ${id}`);
    }
    if (this.pauseDelayMs > 0) await new Promise((r) => setTimeout(r, this.pauseDelayMs));
    if (this.refusePauses) throw new SandboxdError('PAUSE_REFUSED', `sandbox ${id} would not freeze`);
    const record = { sandboxId: id, memory: options.memory ?? true, pausedAt: new Date().toISOString(), imageBytes: 1 };
    this.live.delete(id);
    this.paused.set(id, { endpoint, record });
    return record;
  }

  async resume(id: string, _options: ResumeOptions = {}): Promise<SandboxEndpoint> {
    const paused = this.paused.get(id);
    if (!paused)
      throw new SandboxdError(this.live.has(id) ? 'INVALID_TRANSITION' : 'SANDBOX_NOT_FOUND', `sandbox ${id}`);
    if (this.pauseDelayMs > 0) await new Promise((r) => setTimeout(r, this.pauseDelayMs));
    if (this.failNextResume) {
      this.failNextResume = false;
      throw new SandboxdError('RUNTIME_FAILED', 'injected resume failure');
    }
    this.paused.delete(id);
    const endpoint = { ...paused.endpoint, pid: paused.endpoint.pid + 1 };
    this.live.set(id, endpoint);
    return endpoint;
  }

  /** Sandboxes whose container "stopped by itself" (a test marks them so). */
  readonly stopped = new Set<string>();

  async hasStopped(id: string) {
    return this.stopped.has(id);
  }

  /** Graceful closes asked of it, with their grace period. */
  readonly terminations: { id: string; graceMs: number }[] = [];

  async terminate(id: string, graceMs: number) {
    this.terminations.push({ id, graceMs });
    return { signalled: this.live.has(id) ? 1 : 0, left: 0 };
  }

  async kill(id: string) {
    if (this.killDelayMs > 0) await new Promise((r) => setTimeout(r, this.killDelayMs));
    this.live.delete(id);
    if (this.failKills > 0) {
      this.failKills--;
      throw new SandboxdError('KILL_INCOMPLETE', `teardown of sandbox ${id} is incomplete (unmount: busy)`, {
        retryAfterSeconds: 2,
      });
    }
    this.paused.delete(id);
  }

  async list(): Promise<RuntimeSandbox[]> {
    return [
      ...[...this.live.values()].map((e) => ({ ...e, status: 'running' as const })),
      ...[...this.paused.values()].map(({ endpoint, record }) => ({
        ...endpoint,
        pid: 0,
        status: 'paused' as const,
        paused: record,
      })),
    ];
  }

  async sweep(keep: ReadonlySet<string>) {
    const swept = [...this.live.keys(), ...this.paused.keys()].filter((id) => !keep.has(id));
    for (const id of swept) {
      this.live.delete(id);
      this.paused.delete(id);
    }
    return swept;
  }

  /** What stats() reports as every live sandbox's memory use (undefined: no stats, as before). */
  memoryBytes: number | undefined;
  /** What stats() reports as anonymous + shared memory (undefined: not reported). */
  anonBytes: number | undefined;
  /** Bytes each sandbox's (sparse) disk holds, for diskUsage(); its size is the spec's. */
  diskAllocatedBytes = 4 * 1024 * 1024;
  readonly #diskSizes = new Map<string, number>();

  async stats(id: string) {
    if (this.memoryBytes === undefined || !this.live.has(id)) return undefined;
    return {
      memoryBytes: this.memoryBytes,
      cpuUsageNs: 0,
      pids: 1,
      ...(this.anonBytes === undefined ? {} : { anonBytes: this.anonBytes }),
    };
  }

  async diskUsage(id: string) {
    const sizeBytes = this.#diskSizes.get(id);
    if (sizeBytes === undefined || (!this.live.has(id) && !this.paused.has(id))) return undefined;
    return { sizeBytes, allocatedBytes: Math.min(sizeBytes, this.diskAllocatedBytes) };
  }
}
