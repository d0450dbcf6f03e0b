import { type Clock, SandboxdError } from '@sandboxd/common';
import type { SandboxEndpoint } from '@sandboxd/runtime';
import type { SandboxEvent, SandboxPatch, SandboxRecord, Store } from '../store/store.js';
import type { EventLog } from './event-log.js';
import type { RouteTable } from './route-table.js';
import { type Move, moves, nextState, type SandboxAction } from './transitions.js';

export interface StateWriterDeps {
  store: Store;
  clock: Clock;
  events: EventLog;
  routes: RouteTable;
  /** Called after every write: any move may change the earliest deadline. */
  reschedule: () => void;
}

export interface MoveOptions {
  cause: SandboxEvent['cause'];
  detail?: string | undefined;
  /** Columns the move writes besides the state. */
  patch?: Omit<SandboxPatch, 'state' | 'address' | 'envdPort'>;
  /** A move into `running` from another state: where the proxy reaches the sandbox from now on. */
  endpoint?: Pick<SandboxEndpoint, 'address' | 'envdPort'>;
}

/**
 * The one writer of sandbox state. Each move is checked against the table (transitions.ts), its
 * row change and event are written in one store transaction (compare-and-set on the state the
 * caller saw), the event is published, the route follows the state (set when the sandbox starts
 * running, dropped when it leaves `running`), and deadlines are rescheduled.
 */
export class StateWriter {
  constructor(private readonly d: StateWriterDeps) {}

  /** A new sandbox row (state `creating`) and its `created` event. */
  insert(record: SandboxRecord, cause: SandboxEvent['cause'], detail?: string): SandboxRecord {
    if (record.state !== 'creating') throw new Error(`a new sandbox starts as creating, not ${record.state}`);
    const event = this.#event(record, 'created', cause, detail);
    const seq = this.d.store.insertSandbox(record, event);
    this.d.events.publish({ ...event, seq });
    return record;
  }

  /** Applies `action` to the sandbox as the caller last read it; returns the record as written. */
  apply(record: SandboxRecord, action: SandboxAction, options: MoveOptions): SandboxRecord {
    const to = nextState(record.id, record.state, action, options.cause);
    const entersRunning = to === 'running' && record.state !== 'running';
    if (entersRunning && !options.endpoint) throw new Error(`${action} needs the endpoint of ${record.id}`);
    const patch: SandboxPatch = {
      ...options.patch,
      state: to,
      ...(options.endpoint ? { address: options.endpoint.address, envdPort: options.endpoint.envdPort } : {}),
    };
    const type: Move['event'] = moves[action].event;
    const event = type === null ? undefined : this.#event(record, type, options.cause, options.detail);
    const written = this.d.store.changeSandbox(record.id, { from: record.state, patch, event });
    if (!written) {
      const now = this.d.store.getSandbox(record.id)?.state ?? 'gone';
      throw new SandboxdError('INVALID_TRANSITION', `sandbox ${record.id} is ${now}, not ${record.state}`);
    }
    if (event && written.seq !== undefined) this.d.events.publish({ ...event, seq: written.seq });
    if (options.endpoint && to === 'running') this.d.routes.set(record.id, options.endpoint);
    else if (to !== 'running' && this.d.routes.get(record.id)) this.d.routes.drop(record.id);
    this.d.reschedule();
    return { ...record, ...patch };
  }

  #event(record: SandboxRecord, type: string, cause: SandboxEvent['cause'], detail?: string): SandboxEvent {
    return {
      sandboxId: record.id,
      teamId: record.teamId,
      time: this.d.clock.now(),
      type,
      cause,
      ...(detail === undefined ? {} : { detail }),
    };
  }
}
