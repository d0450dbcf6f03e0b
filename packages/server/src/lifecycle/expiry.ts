import type { Logger } from '@sandboxd/common';
import type { Store } from '../store/store.js';
import type { LifecycleHooks, SandboxOperations } from './operations.js';
import type { StateWriter } from './state-writer.js';

/** Pauses tried at a deadline before the sandbox is killed instead. */
export const pauseAttemptsAtDeadline = 2;
/** Wait between two of them. */
export const pauseRetryMs = 5_000;

/**
 * What happens at a sandbox's deadline: a kill, or for `autoPause` a pause. The plan's window is a
 * hard limit: a sandbox whose pause keeps failing (it can make its own dump fail, e.g. with a
 * ptrace-attached child) is tried a bounded number of times, then killed with the reason in the
 * event, so it cannot run on past its plan by failing its pauses.
 */
export class Expiry {
  /** Failed pauses at the deadline, per sandbox, since its last successful one. */
  readonly #failedPauses = new Map<string, number>();

  constructor(
    private readonly d: {
      store: Store;
      clock: { now(): number };
      logger: Logger;
      writer: StateWriter;
      ops: SandboxOperations;
      hooks?: LifecycleHooks | undefined;
    },
  ) {}

  /** The caller holds the sandbox's queue. */
  async expire(sandboxId: string): Promise<void> {
    this.#forgetStopped();
    const record = this.d.store.getSandbox(sandboxId);
    // A setTimeout or connect may have moved the deadline while this waited in the queue.
    const now = this.d.clock.now();
    if (record?.state !== 'running' || record.endAt > now) return;
    this.d.hooks?.expired?.(now - record.endAt);
    if (!record.autoPause) {
      await this.d.ops.kill(record, 'timeout');
      return;
    }
    try {
      await this.d.ops.pause(record, record.autoPauseMemory, 'timeout');
      this.#failedPauses.delete(sandboxId);
    } catch (err) {
      await this.#pauseFailed(sandboxId, err);
    }
  }

  /** The owner moved the deadline (setTimeout, connect): the next one gets its own attempts. */
  deadlineMoved(sandboxId: string): void {
    this.#failedPauses.delete(sandboxId);
  }

  /**
   * Counts of sandboxes that settled meanwhile (killed, or paused by hand) go. One in the middle
   * of a pause (`pausing`) keeps its count, or a busy server could reset it for ever.
   */
  #forgetStopped(): void {
    for (const id of this.#failedPauses.keys()) {
      const state = this.d.store.getSandbox(id)?.state;
      if (state === undefined || state === 'killed' || state === 'paused') this.#failedPauses.delete(id);
    }
  }

  async #pauseFailed(sandboxId: string, err: unknown): Promise<void> {
    const current = this.d.store.getSandbox(sandboxId);
    if (current?.state !== 'running') {
      this.#failedPauses.delete(sandboxId); // the failed pause killed it already
      return;
    }
    const failures = (this.#failedPauses.get(sandboxId) ?? 0) + 1;
    const reason = describe(err);
    if (failures < pauseAttemptsAtDeadline) {
      this.#failedPauses.set(sandboxId, failures);
      const endAt = this.d.clock.now() + pauseRetryMs;
      this.d.writer.apply(current, 'retry-pause-later', {
        cause: 'timeout',
        patch: { endAt },
        detail: `the pause at the deadline failed (${failures} of ${pauseAttemptsAtDeadline}: ${reason}); next try at ${new Date(endAt).toISOString()}`,
      });
      return;
    }
    this.#failedPauses.delete(sandboxId);
    this.d.logger.warn('pause at the deadline kept failing; killing the sandbox', { sandboxId, failures });
    const detail = `the pause at the deadline failed ${failures} times (${reason}); killed at the end of its run`;
    await this.d.ops.kill(current, 'timeout', detail);
  }
}

function describe(err: unknown): string {
  const cause = err instanceof Error && err.cause instanceof Error ? err.cause : err;
  const text = cause instanceof Error ? cause.message : String(cause);
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}
