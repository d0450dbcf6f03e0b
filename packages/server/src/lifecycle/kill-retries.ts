import type { Logger } from '@sandboxd/common';
import type { SandboxEvent, SandboxRecord, Store } from '../store/store.js';
import type { SerialQueue } from './serial-queue.js';

type Cause = SandboxEvent['cause'];

/** Waits before each retry of an incomplete teardown: 2 s, 4 s, … */
const backoffMs = (attempt: number) => 2000 * attempt;
const maxAttempts = 5;

/**
 * A kill whose teardown could not finish (a mount still busy under load) answers 503 and leaves
 * the sandbox `killing`, which no list shows. A client that does not retry would leave its mounts,
 * loop device and slot behind until the next start of the server; so the server retries it
 * itself, a few times with a growing pause, through the sandbox's queue.
 */
export class KillRetries {
  readonly #attempts = new Map<string, number>();

  constructor(
    private readonly d: {
      store: Store;
      queue: SerialQueue;
      kill: (record: SandboxRecord, cause: Cause, detail?: string) => Promise<void>;
      logger: Logger;
    },
  ) {}

  schedule(sandboxId: string, cause: Cause, detail?: string): void {
    const attempt = (this.#attempts.get(sandboxId) ?? 0) + 1;
    if (attempt > maxAttempts) {
      this.#attempts.delete(sandboxId);
      this.d.logger.error('teardown still incomplete after retries; the next start-up finishes it', { sandboxId });
      return;
    }
    this.#attempts.set(sandboxId, attempt);
    setTimeout(() => {
      void this.d.queue
        .run(sandboxId, async () => {
          const record = this.d.store.getSandbox(sandboxId);
          if (record?.state !== 'killing') {
            this.#attempts.delete(sandboxId); // a client's own retry finished it
            return;
          }
          await this.d.kill(record, cause, detail);
          this.#attempts.delete(sandboxId);
        })
        .catch(() => undefined); // a failed retry schedules the next one itself (through kill); a closed queue ends them
    }, backoffMs(attempt)).unref();
  }
}
