import { SandboxdError } from '@sandboxd/common';
import type { EventFilter, Store, StoredEvent, Team } from '../store/store.js';
import { EventHub } from './event-hub.js';

/**
 * The lifecycle's event record: each transition's event is written to the store with its row
 * (StateWriter; the store gives it its seq) and then published here to live subscribers of the
 * sandbox's team, so a subscriber that replays from the store after its last seq misses nothing
 * and sees nothing twice.
 */
export class EventLog {
  readonly #hub = new EventHub();

  constructor(private readonly store: Store) {}

  /** Delivers an event the store has just recorded (and numbered) to live subscribers. */
  publish(event: StoredEvent): void {
    this.#hub.publish(event);
  }

  /** Recorded events of a team, oldest first (see Store.listEvents). */
  list(team: Team, filter: Omit<EventFilter, 'teamId'>): StoredEvent[] {
    return this.store.listEvents({ ...filter, teamId: team.id });
  }

  /** One sandbox's recorded events, also after it was killed; 404 for another team's or unknown id. */
  history(team: Team, sandboxId: string, filter: Omit<EventFilter, 'teamId' | 'sandboxId'>): StoredEvent[] {
    const sandbox = this.store.getSandbox(sandboxId);
    if (!sandbox || sandbox.teamId !== team.id) {
      throw new SandboxdError('SANDBOX_NOT_FOUND', `sandbox ${sandboxId} not found`);
    }
    return this.list(team, { ...filter, sandboxId });
  }

  /**
   * Live events of one team, each delivered once recorded. `onClose` runs when the log closes
   * (server shutdown). Returns the unsubscribe. Throws SHUTTING_DOWN once closed.
   */
  subscribe(team: Team, listener: (event: StoredEvent) => void, onClose: () => void): () => void {
    return this.#hub.subscribe(team.id, listener, onClose);
  }

  /** Live subscriptions (each an open event stream). */
  subscriberCount(): number {
    return this.#hub.subscriberCount();
  }

  /** Ends every live subscription (first step of a shutdown: SSE streams would hold the server open). */
  close(): void {
    this.#hub.close();
  }
}
