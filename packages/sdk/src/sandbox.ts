import {
  ConnectionConfig,
  type ConnectionOpts,
  Sandbox as E2bSandbox,
  type SandboxApiOpts,
  type SandboxListOpts,
  type SandboxOpts,
  type SandboxPaginator,
} from 'e2b';
import { closeOnServer, DEFAULT_CLOSE_GRACE_MS } from './close.js';
import { withSandboxdDefaults } from './config.js';
import { type SandboxEventHandler, type SandboxEventName, SandboxEvents } from './events.js';
import { type MetadataUpdate, writeMetadata } from './metadata.js';
import { readStatus, type SandboxStatus } from './status.js';

export type { SandboxStatus } from './status.js';

/** e2b's list options plus the short form `{ metadata }` (same as `{ query: { metadata } }`). */
export type SandboxdListOpts = SandboxListOpts & {
  metadata?: Record<string, string>;
  apiUrl?: string;
  sandboxUrl?: string;
};

/** Per-request options of the calls this package adds: e2b's request timeout and abort signal. */
export type SandboxdRequestOpts = Pick<SandboxOpts, 'requestTimeoutMs' | 'signal'>;
type RequestOpts = SandboxdRequestOpts;

/** e2b's static-call options plus the URLs, which its types leave out (its calls honour them). */
export type SandboxdApiOpts = SandboxApiOpts & { apiUrl?: string; sandboxUrl?: string };

/**
 * e2b's `Sandbox` with sandboxd's additions. Everything e2b's class does is inherited unchanged
 * (files, commands, pty, errors, paginator); only the connection defaults differ: options, then
 * `SANDBOXD_*`, then `E2B_*` environment variables, then the local server.
 */
export class Sandbox extends E2bSandbox {
  #closing: Promise<void> | undefined;
  #events: SandboxEvents | undefined;

  protected static override resolveOpts<T extends ConnectionOpts>(opts?: T): T | undefined {
    // e2b merges options bound by an `E2B` client first; what it leaves unset gets our defaults.
    // biome-ignore lint/complexity/noThisInStatic: `super` keeps `this` (a subclass, an E2B client's bound class)
    return withSandboxdDefaults(super.resolveOpts(opts));
  }

  /**
   * Lists sandboxes (running and paused unless `query.state` says otherwise). Accepts the short
   * form `{ metadata: {...} }` beside e2b's `{ query: { metadata: {...} } }`; when both are given,
   * their metadata filters are combined (AND, the `query` side wins on a shared key).
   */
  static override list(opts?: SandboxdListOpts): SandboxPaginator {
    // `super`, not the class name: e2b's list must see `this` so our resolveOpts applies.
    // biome-ignore lint/complexity/noThisInStatic: see above
    if (!opts?.metadata) return super.list(opts);
    const { metadata, ...rest } = opts;
    // biome-ignore lint/complexity/noThisInStatic: see above
    return super.list({ ...rest, query: { ...rest.query, metadata: { ...metadata, ...rest.query?.metadata } } });
  }

  // The three static calls below are e2b's, unchanged; only their option types gain the URLs.
  static override kill(sandboxId: string, opts?: SandboxdApiOpts): Promise<boolean> {
    // biome-ignore lint/complexity/noThisInStatic: `super` keeps `this` so our resolveOpts applies
    return super.kill(sandboxId, opts);
  }

  static override getInfo(sandboxId: string, opts?: SandboxdApiOpts): ReturnType<typeof E2bSandbox.getInfo> {
    // biome-ignore lint/complexity/noThisInStatic: see kill
    return super.getInfo(sandboxId, opts);
  }

  static override setTimeout(sandboxId: string, timeoutMs: number, opts?: SandboxdApiOpts): Promise<void> {
    // biome-ignore lint/complexity/noThisInStatic: see kill
    return super.setTimeout(sandboxId, timeoutMs, opts);
  }

  /** The sandbox's ID (alias of `sandboxId`). */
  get id(): string {
    return this.sandboxId;
  }

  /** The server's record of this sandbox, as a {@link SandboxStatus}; a gone sandbox is `closed`. */
  getStatus(opts?: RequestOpts): Promise<SandboxStatus> {
    return readStatus(this.connectionConfig, this.sandboxId, opts);
  }

  /**
   * The status of any sandbox of the team by id, without connecting (so a paused one stays
   * paused); `creating` while another client's create is still under way.
   */
  static getStatus(sandboxId: string, opts?: SandboxdApiOpts): Promise<SandboxStatus> {
    // biome-ignore lint/complexity/noThisInStatic: `this` keeps our resolveOpts (and an E2B client's bound options)
    return readStatus(new ConnectionConfig(this.resolveOpts(opts)), sandboxId, opts);
  }

  /**
   * Extends the deadline to now + `ms` unless it is already later: unlike `setTimeout`, it never
   * shortens the sandbox's life. It is the server's connect call, so a paused sandbox is resumed.
   * Deadlines stay clamped to the team's maximum runtime.
   */
  async keepAlive(ms: number, opts?: RequestOpts): Promise<void> {
    if (!Number.isFinite(ms) || ms < 0)
      throw new RangeError(`keepAlive(ms): ms must be a non-negative number, got ${ms}`);
    await this.connect({ ...opts, timeoutMs: ms });
  }

  /** The metadata the server holds now (also what `Sandbox.list({ metadata })` filters on). */
  async getMetadata(opts?: RequestOpts): Promise<Record<string, string>> {
    return (await this.getInfo(opts)).metadata;
  }

  /**
   * Merges `metadata` into the sandbox's metadata on the server (a `null` value removes that key),
   * or replaces it whole with `{ replace: true }`. Answers the metadata as now stored. Bad input or
   * a limit exceeded: {@link MetadataValidationError}, and nothing changes.
   */
  async setMetadata(metadata: MetadataUpdate, opts?: { replace?: boolean }): Promise<Record<string, string>> {
    return writeMetadata(this.connectionConfig, this.sandboxId, metadata, opts?.replace ? 'replace' : 'merge');
  }

  /**
   * Calls `handler` on each lifecycle event of this sandbox, in the order the server recorded
   * them: `start`, `pause`, `resume`, `timeout` (its deadline passed), `close` (with `reason`:
   * killed, timeout or closed) and `error` (the event stream could not be opened, or a transition
   * failed on the server). Every sandbox of one client configuration shares one event stream.
   */
  on(event: SandboxEventName, handler: SandboxEventHandler): this {
    this.#events ??= new SandboxEvents(this.sandboxId, this.connectionConfig.apiUrl, this.connectionConfig.apiKey);
    this.#events.on(event, handler);
    return this;
  }

  /**
   * Resolves once this sandbox's event stream is open and caught up: events recorded from then on
   * are delivered (those before it only when the stream was already open). Resolves at once
   * without handlers.
   */
  whenEventsReady(): Promise<void> {
    return this.#events?.ready() ?? Promise.resolve();
  }

  /** Removes a handler added with {@link on}; the last one removed gives up the stream. */
  off(event: SandboxEventName, handler: SandboxEventHandler): this {
    this.#events?.off(event, handler);
    return this;
  }

  /**
   * Graceful shutdown, done by the server: every process in the sandbox (commands, their
   * children, daemons) gets SIGTERM and up to `graceMs` (default 2 s, at most 60 s) to exit, then
   * the sandbox is killed; its `close` event says `reason: 'closed'` to every client. Open command
   * streams and watchers end with it. Idempotent: later and concurrent calls share the first
   * one's outcome, and closing a sandbox that is already gone resolves. A paused sandbox is killed
   * without being woken. `kill()` stays the immediate way.
   */
  close(opts?: { graceMs?: number }): Promise<void> {
    this.#closing ??= closeOnServer(
      this.connectionConfig,
      this.sandboxId,
      opts?.graceMs ?? DEFAULT_CLOSE_GRACE_MS,
    ).then(
      () => undefined,
      (err: unknown) => {
        this.#closing = undefined; // a failed request (network) may be retried by a later close()
        throw err;
      },
    );
    return this.#closing;
  }
}
