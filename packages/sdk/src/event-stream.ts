import { SseParser } from './sse.js';

/** One lifecycle event as the server sends it on `GET /events`. */
export interface ServerEvent {
  seq: number;
  sandboxID: string;
  type: string;
  cause: string;
  timestamp: string;
  detail?: unknown;
}

/** What a subscriber (one sandbox's handlers) gets from the shared stream. */
export interface StreamListener {
  event(e: ServerEvent): void;
  error(err: Error): void;
}

/** The event stream could not be opened or read; `status` is the HTTP status when one came. */
export class EventStreamError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'EventStreamError';
  }
}

const firstBackoffMs = 250;
const maxBackoffMs = 5_000;
const streams = new Map<string, SharedEventStream>();

/** The one stream of a client configuration (API URL + key), created on first use. */
export function sharedEventStream(apiUrl: string, apiKey: string | undefined): SharedEventStream {
  const key = `${apiUrl}\n${apiKey ?? ''}`;
  let stream = streams.get(key);
  if (!stream) {
    stream = new SharedEventStream(apiUrl, apiKey, () => streams.delete(key));
    streams.set(key, stream);
  }
  return stream;
}

/**
 * One `GET /events` connection for every sandbox of a client configuration, demultiplexed by
 * sandbox id. It opens when the first listener arrives and closes when the last one leaves. A
 * drop reconnects with `Last-Event-ID` (backoff), so nothing recorded meanwhile is missed. A
 * failed attempt is reported to every listener as an error once per outage; a refusal that
 * retrying cannot fix (bad key, 4xx) ends the stream after reporting it.
 */
export class SharedEventStream {
  readonly #listeners = new Map<string, Set<StreamListener>>();
  #abort: AbortController | undefined;
  #lastSeq: number | undefined;
  #ready: Promise<number> = new Promise(() => undefined);
  #markReady: (seq: number) => void = () => undefined;
  /** Connections opened so far (one per connect or reconnect). */
  connections = 0;

  constructor(
    readonly apiUrl: string,
    readonly apiKey: string | undefined,
    private readonly onEnd: () => void,
  ) {}

  /** Resolves once the current connection has caught up (its `ready` message arrived), with its seq. */
  get ready(): Promise<number> {
    return this.#ready;
  }

  /**
   * The seq after which every event will reach a listener added now (delivered live or replayed
   * on reconnect); `undefined` until the first connection is ready (then `ready` tells).
   */
  get position(): number | undefined {
    return this.#lastSeq;
  }

  get listenerCount(): number {
    let n = 0;
    for (const set of this.#listeners.values()) n += set.size;
    return n;
  }

  add(sandboxId: string, listener: StreamListener): void {
    let set = this.#listeners.get(sandboxId);
    if (!set) {
      set = new Set();
      this.#listeners.set(sandboxId, set);
    }
    set.add(listener);
    if (!this.#abort) this.#start();
  }

  remove(sandboxId: string, listener: StreamListener): void {
    const set = this.#listeners.get(sandboxId);
    if (!set?.delete(listener)) return;
    if (set.size === 0) this.#listeners.delete(sandboxId);
    if (this.#listeners.size === 0) this.#end();
  }

  #start(): void {
    const abort = new AbortController();
    this.#abort = abort;
    this.#resetReady();
    // Errors are handled inside; the catch only guards against a listener's own throw.
    this.#run(abort.signal).catch(() => undefined);
  }

  #end(): void {
    this.#abort?.abort();
    this.#abort = undefined;
    this.onEnd();
  }

  #resetReady(): void {
    this.#ready = new Promise((resolve) => {
      this.#markReady = resolve;
    });
  }

  async #run(signal: AbortSignal): Promise<void> {
    let backoff = firstBackoffMs;
    let reported = false;
    while (!signal.aborted) {
      try {
        await this.#connect(signal, () => {
          backoff = firstBackoffMs;
          reported = false;
        });
      } catch (err) {
        if (signal.aborted) return;
        const error =
          err instanceof EventStreamError ? err : new EventStreamError(`event stream failed: ${String(err)}`);
        const final = error.status !== undefined && error.status >= 400 && error.status < 500 && error.status !== 429;
        if (!reported || final) this.#broadcastError(error);
        reported = true;
        if (final) {
          this.#listeners.clear();
          this.#end();
          return;
        }
      }
      if (signal.aborted) return;
      this.#resetReady();
      await sleep(backoff, signal);
      backoff = Math.min(backoff * 2, maxBackoffMs);
    }
  }

  /** One connection, until the server ends it (resolves) or it breaks (throws). */
  async #connect(signal: AbortSignal, onReady: () => void): Promise<void> {
    const headers: Record<string, string> = { accept: 'text/event-stream' };
    if (this.apiKey !== undefined) headers['x-api-key'] = this.apiKey;
    if (this.#lastSeq !== undefined) headers['last-event-id'] = String(this.#lastSeq);
    this.connections++;
    const res = await fetch(`${this.apiUrl}/events`, { headers, signal });
    if (res.status !== 200 || !res.body) {
      const text = await res.text().catch(() => '');
      throw new EventStreamError(`event stream answered ${res.status}: ${text.slice(0, 200)}`, res.status);
    }
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    const parser = new SseParser();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        for (const m of parser.push(value)) {
          if (m.event === 'ready') {
            this.#lastSeq ??= (JSON.parse(m.data) as { lastSeq: number }).lastSeq;
            onReady();
            this.#markReady(this.#lastSeq);
          } else if (m.id !== undefined) {
            this.#lastSeq = Number(m.id);
            this.#deliver(JSON.parse(m.data) as ServerEvent);
          }
        }
      }
    } finally {
      reader.cancel().catch(() => undefined);
    }
  }

  #deliver(e: ServerEvent): void {
    for (const listener of [...(this.#listeners.get(e.sandboxID) ?? [])]) listener.event(e);
  }

  #broadcastError(err: Error): void {
    for (const set of [...this.#listeners.values()]) for (const listener of [...set]) listener.error(err);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
