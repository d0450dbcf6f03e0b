import type { Logger } from '@sandboxd/common';
import type { SandboxRuntime } from '@sandboxd/runtime';
import type { SandboxRecord, Store } from '../store/store.js';
import type { SandboxOperations } from './operations.js';
import type { RouteTable } from './route-table.js';
import type { SerialQueue } from './serial-queue.js';

/** How often the runtime is asked which containers still run. */
const defaultIntervalMs = 3000;

/**
 * Notices sandboxes that stopped by themselves — envd killed from inside (its init, tini, exits
 * with it), the init OOM-killed, the container killed from the host — and kills them properly:
 * the host side is torn down, the row says `killed` with cause `error`, the event stream tells
 * every client. Without it such a sandbox would stay listed as running while every request to it
 * answers 502, until its deadline.
 */
export class ExitWatcher {
  #timer: NodeJS.Timeout | undefined;
  #checking: Promise<void> | undefined;

  constructor(
    private readonly d: {
      runtime: SandboxRuntime;
      store: Store;
      routes: RouteTable;
      queue: SerialQueue;
      ops: SandboxOperations;
      logger: Logger;
      intervalMs?: number;
    },
  ) {}

  start(): void {
    this.#timer ??= setInterval(() => void this.check(), this.d.intervalMs ?? defaultIntervalMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** One look (also for tests): every routed sandbox whose container no longer runs is killed. */
  check(): Promise<void> {
    this.#checking ??= this.#check().finally(() => {
      this.#checking = undefined;
    });
    return this.#checking;
  }

  async #check(): Promise<void> {
    const routed = this.d.routes.ids();
    if (routed.length === 0) return;
    const running = await this.#runningIds().catch((err: unknown) => {
      this.d.logger.warn('exit watcher: listing the runtime failed', { err });
      return undefined;
    });
    if (!running) return;
    // The list is only a cheap filter (a sandbox that finished its create while it was read, or a
    // failed `runc list`, looks stopped there); each suspect is confirmed by its own container
    // state, inside its queue, where no pause, resume or kill of it is under way.
    for (const id of routed.filter((r) => !running.has(r))) {
      await this.d.queue
        .run(id, async () => {
          const record = this.d.store.getSandbox(id);
          if (record?.state !== 'running' || !this.d.routes.get(id)) return;
          if (!(await this.d.runtime.hasStopped(id))) return;
          await this.#killExited(record);
        })
        .catch((err: unknown) =>
          this.d.logger.warn('exit watcher: cleaning up a stopped sandbox failed', { sandboxId: id, err }),
        );
    }
  }

  async #runningIds(): Promise<Set<string>> {
    return new Set((await this.d.runtime.list()).filter((s) => s.status === 'running').map((s) => s.sandboxId));
  }

  async #killExited(record: SandboxRecord): Promise<void> {
    this.d.logger.warn('sandbox stopped by itself: killing it', { sandboxId: record.id });
    await this.d.ops.kill(record, 'error', 'the sandbox stopped by itself (its init or envd exited)');
  }
}
