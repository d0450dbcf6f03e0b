import { setTimeout as sleep } from 'node:timers/promises';
import { type Logger, SandboxdError } from '@sandboxd/common';
import { FreezeTimeoutError, freezeSandbox, readFreezerState, thawSandbox } from '../cgroups/freezer.js';

/**
 * Each attempt waits longer for the freezer to settle; between attempts the sandbox is thawed and
 * runs for a moment (whatever held a task out of the refrigerator, a page fault on a busy disk,
 * gets to finish). Bounded: in the worst case a pause gives up after about 10 s.
 */
const freezeAttempts = [
  { settleMs: 1_500, backoffMs: 100 },
  { settleMs: 3_000, backoffMs: 400 },
  { settleMs: 5_000, backoffMs: 0 },
] as const;

/** How long a client should wait before trying a refused pause again (the wire's Retry-After). */
const retryAfterSeconds = 2;

/**
 * Freezes the sandbox for a dump. A sandbox that never settles (after every attempt) is thawed and
 * PAUSE_REFUSED is thrown: the caller keeps it running and routed. A freezer cgroup that is gone
 * means there is no container to pause: SANDBOX_NOT_RUNNING.
 */
export async function freezeForDump(sandboxId: string, log: Logger): Promise<void> {
  let last: unknown;
  for (const [i, attempt] of freezeAttempts.entries()) {
    try {
      await freezeSandbox(sandboxId, { settleMs: attempt.settleMs });
      if (i > 0) log.info('sandbox froze after a retry', { attempt: i + 1 });
      return;
    } catch (err) {
      if (!(err instanceof FreezeTimeoutError)) {
        if ((await readFreezerState(sandboxId)) === undefined) throw notRunning(sandboxId);
        throw err;
      }
      last = err;
      log.warn('sandbox did not freeze in time; thawed, retrying', {
        attempt: i + 1,
        waitedMs: err.waitedMs,
        stragglers: err.stragglers,
      });
      await sleep(attempt.backoffMs);
    }
  }
  throw pauseRefused(sandboxId, 'its processes did not freeze', last);
}

/** Thaws after a failed dump; CRIU leaves the freezer as it found it (frozen). */
export async function thawAfterFailedDump(sandboxId: string, log: Logger): Promise<void> {
  await thawSandbox(sandboxId).catch((err) => log.error('thaw after a failed dump failed', { err }));
}

export function pauseRefused(sandboxId: string, why: string, cause: unknown): SandboxdError {
  return new SandboxdError('PAUSE_REFUSED', `sandbox ${sandboxId} could not be paused (${why}); it keeps running`, {
    cause,
    retryAfterSeconds,
  });
}

export function notRunning(sandboxId: string): SandboxdError {
  return new SandboxdError('SANDBOX_NOT_RUNNING', `sandbox ${sandboxId} is not running`);
}
