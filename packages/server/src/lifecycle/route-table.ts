import type { SandboxEndpoint } from '@sandboxd/runtime';

/** Where a running sandbox's envd can be reached; the proxy's routing table. */
export interface SandboxRoute {
  sandboxId: string;
  address: string;
  envdPort: number;
}

type DropListener = (sandboxId: string) => void;

/**
 * The sandboxes the proxy may reach right now. A sandbox is routed only while it runs; it is
 * dropped before it pauses or dies, and whoever listens (the proxy) then tears down its streams.
 */
export class RouteTable {
  readonly #routes = new Map<string, SandboxRoute>();
  readonly #dropListeners = new Set<DropListener>();

  get size(): number {
    return this.#routes.size;
  }

  /** The ids routed now. */
  ids(): string[] {
    return [...this.#routes.keys()];
  }

  get(sandboxId: string): SandboxRoute | undefined {
    return this.#routes.get(sandboxId);
  }

  set(sandboxId: string, endpoint: Pick<SandboxEndpoint, 'address' | 'envdPort'>): void {
    this.#routes.set(sandboxId, { sandboxId, address: endpoint.address, envdPort: endpoint.envdPort });
  }

  drop(sandboxId: string): void {
    this.#routes.delete(sandboxId);
    for (const listener of this.#dropListeners) listener(sandboxId);
  }

  onDrop(listener: DropListener): () => void {
    this.#dropListeners.add(listener);
    return () => this.#dropListeners.delete(listener);
  }
}
