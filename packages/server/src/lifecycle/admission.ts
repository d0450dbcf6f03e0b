import { SandboxdError } from '@sandboxd/common';
import type { Team } from '../store/store.js';

/**
 * The team's concurrent-sandbox limit, checked without a gap: `admit` counts the places already
 * held by creates and resumes that are not in the store yet, so parallel requests cannot all
 * pass the check. The caller releases its place once its row counts itself (or on failure).
 */
export class Admission {
  readonly #held = new Map<string, number>();

  /** `active`: the team's sandboxes the store counts as using resources now. */
  admit(team: Team, active: number): () => void {
    const held = this.#held.get(team.id) ?? 0;
    if (active + held >= team.maxConcurrentSandboxes) {
      throw new SandboxdError(
        'CAPACITY_EXHAUSTED',
        `team has reached its limit of ${team.maxConcurrentSandboxes} concurrent sandboxes`,
        { retryAfterSeconds: 1 },
      );
    }
    this.#held.set(team.id, held + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.#held.get(team.id) ?? 1) - 1;
      if (left > 0) this.#held.set(team.id, left);
      else this.#held.delete(team.id);
    };
  }
}

/**
 * now + timeout, clamped to the team's longest continuous run counted from the start of this
 * run (E2B: 1 h on Base, 24 h on Pro; pausing and resuming starts a new run).
 */
export function deadlineFor(team: Team, runtimeStartedAt: number, timeoutSeconds: number, now: number): number {
  return Math.min(now + timeoutSeconds * 1000, runtimeStartedAt + team.maxRuntimeSeconds * 1000);
}
