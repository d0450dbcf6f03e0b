import { SandboxdError } from '@sandboxd/common';
import type { Team, TeamUsage } from '../store/store.js';

/**
 * A team's limits on what its sandboxes hold, checked without a gap: `admit` counts the places
 * (and disk) already held by creates and resumes that are not in the store yet, so parallel
 * requests cannot all pass the check. The caller releases its hold once its row counts itself
 * (or on failure). Pauses need no hold: their check and their `pausing` row are one synchronous step.
 */
export class Admission {
  readonly #held = new Map<string, { places: number; diskMiB: number }>();

  /**
   * A place against the concurrent limit and, for a create, `diskMiB` against the team's disk
   * (a resume's disk is counted already: paused sandboxes keep theirs).
   */
  admit(team: Team, usage: TeamUsage, diskMiB = 0): () => void {
    const held = this.#held.get(team.id) ?? { places: 0, diskMiB: 0 };
    if (usage.active + held.places >= team.maxConcurrentSandboxes) {
      throw new SandboxdError(
        'CAPACITY_EXHAUSTED',
        `team has reached its limit of ${team.maxConcurrentSandboxes} concurrent sandboxes`,
        { retryAfterSeconds: 1 },
      );
    }
    const diskAfter = usage.diskMiB + held.diskMiB + diskMiB;
    if (diskMiB > 0 && diskAfter > team.maxDiskMiB) {
      // No Retry-After: waiting frees nothing, only a kill of one of the team's sandboxes does.
      throw new SandboxdError(
        'CAPACITY_EXHAUSTED',
        `team has reached its disk limit of ${team.maxDiskMiB} MiB: its sandboxes (paused ones too) ` +
          `hold ${usage.diskMiB + held.diskMiB} MiB and a new one needs ${diskMiB} MiB; kill one to free its disk`,
      );
    }
    this.#held.set(team.id, { places: held.places + 1, diskMiB: held.diskMiB + diskMiB });
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const now = this.#held.get(team.id) ?? { places: 1, diskMiB };
      const left = { places: now.places - 1, diskMiB: now.diskMiB - diskMiB };
      if (left.places > 0) this.#held.set(team.id, left);
      else this.#held.delete(team.id);
    };
  }
}

/**
 * Throws CAPACITY_EXHAUSTED (429, no Retry-After: only a kill or a resume frees a place) when the
 * team holds its limit of paused sandboxes. The caller writes its `pausing` row in the same
 * synchronous step, so two pauses cannot both pass.
 */
export function admitPause(team: Team, usage: TeamUsage): void {
  if (usage.paused < team.maxPausedSandboxes) return;
  throw new SandboxdError(
    'CAPACITY_EXHAUSTED',
    `team has reached its limit of ${team.maxPausedSandboxes} paused sandboxes; ` +
      'kill or resume one of them first (the sandbox keeps running)',
  );
}

/**
 * now + timeout, clamped to the team's longest continuous run counted from the start of this
 * run (E2B: 1 h on Base, 24 h on Pro; pausing and resuming starts a new run).
 */
export function deadlineFor(team: Team, runtimeStartedAt: number, timeoutSeconds: number, now: number): number {
  return Math.min(now + timeoutSeconds * 1000, runtimeStartedAt + team.maxRuntimeSeconds * 1000);
}
