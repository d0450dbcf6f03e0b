import { SandboxdError } from '@sandboxd/common';
import type { StoredEvent } from '../store/store.js';

type Listener = (event: StoredEvent) => void;

/**
 * In-process fan-out of lifecycle events, after the store has recorded them (so every published
 * event already has its seq). Listeners are per team: a subscriber never sees another team's
 * sandboxes. `close()` tells every subscriber the server is going away (once: it is idempotent);
 * a subscribe after it is refused with SHUTTING_DOWN.
 */
export class EventHub {
  readonly #listeners = new Map<string, Set<Listener>>();
  readonly #closeListeners = new Set<() => void>();
  #closed = false;

  get closed(): boolean {
    return this.#closed;
  }

  subscribe(teamId: string, listener: Listener, onClose?: () => void): () => void {
    if (this.#closed) throw new SandboxdError('SHUTTING_DOWN', 'the event stream is closed');
    let set = this.#listeners.get(teamId);
    if (!set) {
      set = new Set();
      this.#listeners.set(teamId, set);
    }
    set.add(listener);
    if (onClose) this.#closeListeners.add(onClose);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.#listeners.delete(teamId);
      if (onClose) this.#closeListeners.delete(onClose);
    };
  }

  subscriberCount(): number {
    let n = 0;
    for (const set of this.#listeners.values()) n += set.size;
    return n;
  }

  publish(event: StoredEvent): void {
    for (const listener of this.#listeners.get(event.teamId) ?? []) listener(event);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const onClose of [...this.#closeListeners]) onClose();
    this.#closeListeners.clear();
  }
}
