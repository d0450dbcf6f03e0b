import type { RuntimeSandbox, SandboxEndpoint, SandboxRuntime, SandboxSpec } from '@sandboxd/runtime';

/**
 * An in-memory SandboxRuntime for tests and benchmarks of lifecycle logic (state machine,
 * deadlines, listing), not of isolation: the e2e suites run real sandboxes for that.
 */
export class MemoryRuntime implements SandboxRuntime {
  readonly live = new Map<string, SandboxEndpoint>();
  failNextCreate = false;
  killDelayMs = 0;

  async init() {}

  async create(spec: SandboxSpec): Promise<SandboxEndpoint> {
    if (this.failNextCreate) {
      this.failNextCreate = false;
      throw new Error('injected create failure');
    }
    const endpoint = { sandboxId: spec.sandboxId, address: '10.200.0.2', envdPort: 49983, pid: 1 };
    this.live.set(spec.sandboxId, endpoint);
    return endpoint;
  }

  async kill(id: string) {
    if (this.killDelayMs > 0) await new Promise((r) => setTimeout(r, this.killDelayMs));
    this.live.delete(id);
  }

  async list(): Promise<RuntimeSandbox[]> {
    return [...this.live.values()].map((e) => ({ ...e, status: 'running' as const }));
  }

  async sweep(keep: ReadonlySet<string>) {
    const swept = [...this.live.keys()].filter((id) => !keep.has(id));
    for (const id of swept) this.live.delete(id);
    return swept;
  }

  async stats() {
    return undefined;
  }
}
