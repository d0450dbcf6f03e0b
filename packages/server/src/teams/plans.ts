import type { TeamLimits } from '../store/store.js';

/**
 * E2B's published plans, as presets for a team's limits: sandboxes run continuously for at most
 * 1 h on Base and 24 h on Pro (a resume starts a new run, so pausing resets the window). A team's
 * limits are stored with it, so an operator can give one team other numbers without inventing a plan.
 * E2B publishes no limit on paused sandboxes or a team's total disk; sandboxd's presets allow as
 * many paused sandboxes as running ones, and disk for both at the default 10 GiB each.
 */
export const plans = {
  base: { maxConcurrentSandboxes: 20, maxRuntimeSeconds: 3600, maxPausedSandboxes: 20, maxDiskMiB: 40 * 10240 },
  pro: {
    maxConcurrentSandboxes: 100,
    maxRuntimeSeconds: 24 * 3600,
    maxPausedSandboxes: 100,
    maxDiskMiB: 200 * 10240,
  },
} as const satisfies Record<string, TeamLimits>;

export type PlanName = keyof typeof plans;

export function isPlanName(value: string): value is PlanName {
  return Object.hasOwn(plans, value);
}
