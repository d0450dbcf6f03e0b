import { SandboxdError } from '@sandboxd/common';
import type { SandboxEvent, SandboxState } from '../store/store.js';

type Cause = SandboxEvent['cause'];

/** One legal move: from which states, to which (`same`: the state stays), by whom, recorded as what. */
export interface Move {
  from: readonly SandboxState[];
  to: SandboxState | 'same';
  causes: readonly Cause[];
  /** The event type the move records; null: the move is an intent whose outcome is recorded. */
  event: string | null;
}

/**
 * The sandbox state machine as one table: every change of a sandbox row is one of these actions,
 * and `StateWriter.apply` refuses anything else. It lists what the code really does, including the
 * system's own moves (a failed create, the deadline, waking on traffic, reconcile at start-up).
 *
 * ```
 * creating ──► running ──► killing ──► killed
 *    │            ▲   └──► pausing ─► paused ─► resuming ─┘
 *    └── failure ─┴──────► killing
 * ```
 */
export const moves = {
  /** The runtime started it, or the warm pool handed it over. */
  start: { from: ['creating'], to: 'running', causes: ['user'], event: 'running' },
  /** The runtime could not start it: nothing runs, so there is nothing to kill. */
  'fail-create': { from: ['creating'], to: 'killed', causes: ['error'], event: 'killed' },
  /**
   * A kill call, the deadline, or a pause that left the sandbox in no known state; from `killing`:
   * a kill call retrying a teardown that could not finish.
   */
  kill: {
    from: ['running', 'pausing', 'paused', 'killing'],
    to: 'killing',
    causes: ['user', 'timeout', 'error'],
    event: null,
  },
  'finish-kill': { from: ['killing'], to: 'killed', causes: ['user', 'timeout', 'error'], event: 'killed' },
  /** A pause call, or the deadline of an `autoPause` sandbox. */
  pause: { from: ['running'], to: 'pausing', causes: ['user', 'timeout'], event: 'pausing' },
  /** The images are durable (system: reconcile found a pause committed before a crash). */
  'finish-pause': { from: ['pausing'], to: 'paused', causes: ['user', 'timeout', 'system'], event: 'paused' },
  /** The dump failed and the sandbox was thawed (system: a pause that never committed): it runs on. */
  'fail-pause': { from: ['pausing'], to: 'running', causes: ['error', 'system'], event: 'running' },
  /** A connect or resume call, or traffic for an `autoResume` sandbox. */
  resume: { from: ['paused'], to: 'resuming', causes: ['user', 'traffic'], event: 'resuming' },
  /** A new run starts (system: reconcile found the restore done before a crash). */
  'finish-resume': { from: ['resuming'], to: 'running', causes: ['user', 'traffic', 'system'], event: 'resumed' },
  /** The restore failed, or never happened before a crash (system): it stays paused with its state. */
  'fail-resume': { from: ['resuming'], to: 'paused', causes: ['error', 'system'], event: 'paused' },
  /** setTimeout: the deadline becomes now + timeout. */
  'set-timeout': { from: ['running'], to: 'same', causes: ['user'], event: 'timeout-set' },
  /** connect to a running sandbox: the deadline is never shortened, only extended. */
  'extend-deadline': { from: ['running'], to: 'same', causes: ['user'], event: null },
  /** The pause at the deadline failed: try again shortly, a bounded number of times. */
  'retry-pause-later': { from: ['running'], to: 'same', causes: ['timeout'], event: 'timeout-set' },
  'update-metadata': { from: ['running', 'paused'], to: 'same', causes: ['user'], event: 'metadata-updated' },
  /** Start-up: the runtime still runs a sandbox stored as running; it is routed again. */
  readopt: { from: ['running'], to: 'same', causes: ['system'], event: null },
  /** Start-up: the runtime has nothing intact for it. */
  'mark-lost': {
    from: ['creating', 'running', 'pausing', 'paused', 'resuming', 'killing'],
    to: 'killed',
    causes: ['system'],
    event: 'killed',
  },
} as const satisfies Record<string, Move>;

export type SandboxAction = keyof typeof moves;

export const sandboxActions = Object.keys(moves) as SandboxAction[];

export const sandboxStates: readonly SandboxState[] = [
  'creating',
  'running',
  'pausing',
  'paused',
  'resuming',
  'killing',
  'killed',
];

export function canApply(from: SandboxState, action: SandboxAction, cause: Cause): boolean {
  const move: Move = moves[action];
  return move.from.includes(from) && move.causes.includes(cause);
}

/** Where `action` takes a sandbox in `from`; throws INVALID_TRANSITION (409) for a move the table forbids. */
export function nextState(sandboxId: string, from: SandboxState, action: SandboxAction, cause: Cause): SandboxState {
  if (!canApply(from, action, cause)) {
    throw new SandboxdError('INVALID_TRANSITION', `sandbox ${sandboxId} cannot ${action} while ${from} (${cause})`);
  }
  const to: Move['to'] = moves[action].to;
  return to === 'same' ? from : to;
}

/** States in which a sandbox exists for the API (getInfo, connect, list). */
export const visibleStates: readonly SandboxState[] = ['creating', 'running', 'pausing', 'paused', 'resuming'];
