import {
  EventStreamError,
  type ServerEvent,
  type SharedEventStream,
  type StreamListener,
  sharedEventStream,
} from './event-stream.js';

export type SandboxEventName = 'start' | 'close' | 'pause' | 'resume' | 'timeout' | 'error';

/** Why a sandbox closed: `killed` (a kill), `timeout` (its deadline), `closed` (a graceful `close()`, by any client). */
export type CloseReason = 'killed' | 'timeout' | 'closed';

/** What a handler receives. Server-fed events carry the server's seq, cause and time. */
export interface SandboxEvent {
  type: SandboxEventName;
  sandboxId: string;
  /** The server's event seq (absent on a client-side `error`). */
  seq?: number;
  /** The server's cause: user, timeout, traffic, error, system. */
  cause?: string;
  timestamp?: string;
  /** `'close'` only. */
  reason?: CloseReason;
  /** `'error'` only: the stream failure, or the server's failed transition. */
  error?: Error;
}

export type SandboxEventHandler = (event: SandboxEvent) => void;

const names: ReadonlySet<string> = new Set(['start', 'close', 'pause', 'resume', 'timeout', 'error']);

/**
 * One sandbox's handlers, fed by the shared stream of its client configuration. It holds a place
 * in that stream only while it has handlers, and gives it up once the sandbox has closed.
 */
export class SandboxEvents {
  readonly #handlers = new Map<SandboxEventName, Set<SandboxEventHandler>>();
  #stream: SharedEventStream | undefined;
  #startReplay = false;
  /** Live events held back while the start is fetched from the history, so order is kept. */
  #held: ServerEvent[] | undefined;
  #replaying: Promise<void> = Promise.resolve();
  readonly #listener: StreamListener = {
    event: (e) => {
      if (this.#held) this.#held.push(e);
      else this.#fromServer(e);
    },
    error: (error) => {
      // The stream gives up on a final refusal (bad key): a later `on` opens a fresh one.
      if (this.#stream && this.#stream.listenerCount === 0) {
        this.#stream = undefined;
        this.#startReplay = false;
        this.#release();
      }
      this.#emit({ type: 'error', sandboxId: this.sandboxId, error });
    },
  };

  constructor(
    private readonly sandboxId: string,
    private readonly apiUrl: string,
    private readonly apiKey: string | undefined,
  ) {}

  on(name: SandboxEventName, handler: SandboxEventHandler): void {
    if (!names.has(name)) throw new TypeError(`unknown sandbox event '${String(name)}'`);
    if (typeof handler !== 'function') throw new TypeError('the handler must be a function');
    let set = this.#handlers.get(name);
    if (!set) {
      set = new Set();
      this.#handlers.set(name, set);
    }
    set.add(handler);
    if (!this.#stream) {
      this.#stream = sharedEventStream(this.apiUrl, this.apiKey);
      this.#stream.add(this.sandboxId, this.#listener);
    }
    if (name === 'start' && !this.#startReplay) {
      this.#startReplay = true;
      this.#held = [];
      this.#replaying = this.#replayStart(this.#stream).finally(() => this.#release());
    }
  }

  /**
   * A `Sandbox` object exists only once its sandbox runs, so its start predates any handler:
   * the server's record of it (the history's `running` event) is delivered, when the stream
   * did not (it was recorded before the stream's start point).
   */
  async #replayStart(stream: SharedEventStream): Promise<void> {
    try {
      const from = stream.position ?? (await stream.ready);
      const headers: Record<string, string> = stream.apiKey === undefined ? {} : { 'x-api-key': stream.apiKey };
      const res = await fetch(
        `${stream.apiUrl}/sandboxes/${encodeURIComponent(this.sandboxId)}/events?since=0&limit=10`,
        {
          headers,
        },
      );
      if (!res.ok) throw new EventStreamError(`sandbox history answered ${res.status}`, res.status);
      const history = (await res.json()) as ServerEvent[];
      const start = history.find((e) => e.type === 'running' && e.cause === 'user');
      if (start && start.seq <= from) this.#fromServer(start);
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err));
      this.#emit({ type: 'error', sandboxId: this.sandboxId, error });
    }
  }

  #release(): void {
    const held = this.#held ?? [];
    this.#held = undefined;
    for (const e of held) this.#fromServer(e);
  }

  off(name: SandboxEventName, handler: SandboxEventHandler): void {
    const set = this.#handlers.get(name);
    if (!set?.delete(handler)) return;
    if (set.size === 0) this.#handlers.delete(name);
    if (this.#handlers.size === 0) this.#detach();
  }

  /** Resolves once the stream is caught up and a pending start replay is delivered. */
  async ready(): Promise<void> {
    const stream = this.#stream;
    if (stream) await Promise.race([stream.ready, this.#replaying]);
    await this.#replaying;
  }

  /** The stream this object listens on while it has handlers (for diagnostics and tests). */
  get stream(): SharedEventStream | undefined {
    return this.#stream;
  }

  #detach(): void {
    this.#stream?.remove(this.sandboxId, this.#listener);
    this.#stream = undefined;
  }

  #fromServer(e: ServerEvent): void {
    const base = { sandboxId: this.sandboxId, seq: e.seq, cause: e.cause, timestamp: e.timestamp };
    if (e.cause === 'error') {
      const error = new Error(`sandbox ${this.sandboxId}: ${e.type} failed${detailText(e.detail)}`);
      this.#emit({ ...base, type: 'error', error });
    }
    if (e.cause === 'timeout' && (e.type === 'killed' || e.type === 'paused')) this.#emit({ ...base, type: 'timeout' });
    if (e.type === 'running' && e.cause === 'user') this.#emit({ ...base, type: 'start' });
    else if (e.type === 'paused') this.#emit({ ...base, type: 'pause' });
    else if (e.type === 'resumed') this.#emit({ ...base, type: 'resume' });
    else if (e.type === 'killed') {
      // The server marks the kill that ends a graceful close (POST /sandboxes/{id}/close).
      const reason: CloseReason = e.cause === 'timeout' ? 'timeout' : e.detail === 'closed' ? 'closed' : 'killed';
      this.#emit({ ...base, type: 'close', reason });
      // Nothing follows a close: the handlers are let go, and with them the place in the stream.
      this.#handlers.clear();
      this.#detach();
    }
  }

  #emit(event: SandboxEvent): void {
    for (const handler of [...(this.#handlers.get(event.type) ?? [])]) {
      try {
        handler(event);
      } catch (err) {
        // A throwing handler must not break the shared stream for every other sandbox.
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }
}

function detailText(detail: unknown): string {
  if (detail === undefined) return '';
  return `: ${typeof detail === 'string' ? detail : JSON.stringify(detail)}`;
}
