import { SandboxdError } from '@sandboxd/common';
import type { SandboxState } from '../store/store.js';

/**
 * The sandbox state machine as one table: from-state → states it may move to.
 * creating → running → pausing → paused → resuming → running; any live state → killing → killed.
 * `creating → killing` covers a failed create and a kill that raced it.
 */
const allowed: Record<SandboxState, readonly SandboxState[]> = {
  creating: ['running', 'killing'],
  running: ['pausing', 'killing'],
  pausing: ['paused', 'running', 'killing'],
  paused: ['resuming', 'killing'],
  resuming: ['running', 'paused', 'killing'],
  killing: ['killed'],
  killed: [],
};

export function canTransition(from: SandboxState, to: SandboxState): boolean {
  return allowed[from].includes(to);
}

export function assertTransition(sandboxId: string, from: SandboxState, to: SandboxState): void {
  if (!canTransition(from, to)) {
    throw new SandboxdError('INVALID_TRANSITION', `sandbox ${sandboxId} cannot go from ${from} to ${to}`);
  }
}

/** States in which a sandbox exists for the API (getInfo, connect, list). */
export const visibleStates: readonly SandboxState[] = ['creating', 'running', 'pausing', 'paused', 'resuming'];
