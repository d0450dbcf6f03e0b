import { SandboxError, type SandboxOpts } from 'e2b';
import { Sandbox } from './sandbox.js';

/**
 * A pool of ready sandboxes: `init()` starts `size` of them, `acquire()` hands one out (creating
 * one when none is idle), `release(s)` returns it, `cleanup()` kills every sandbox the pool made,
 * also those acquired and never released.
 *
 * Concurrent `acquire` calls never share a sandbox: an idle one is taken off the list before any
 * await. An idle sandbox is checked with the server before it is handed out, so one that died
 * (killed elsewhere, expired) while idle is dropped instead of given out; a paused one is resumed.
 */
export class SandboxPool {
  readonly size: number;
  readonly #createOpts: SandboxOpts | undefined;
  readonly #idle: Sandbox[] = [];
  /** Every sandbox this pool created and has not seen die: what cleanup kills. */
  readonly #made = new Set<Sandbox>();
  #closed = false;

  constructor(size: number, createOpts?: SandboxOpts) {
    if (!Number.isInteger(size) || size < 0)
      throw new RangeError(`pool size must be a non-negative integer, got ${size}`);
    this.size = size;
    this.#createOpts = createOpts;
  }

  /** Idle sandboxes waiting to be acquired. */
  get available(): number {
    return this.#idle.length;
  }

  /**
   * Starts sandboxes until `size` are idle, at once. If a create fails the error is thrown; the
   * sandboxes that did start stay in the pool (and `cleanup()` kills them).
   */
  async init(): Promise<void> {
    const missing = Math.max(0, this.size - this.#idle.length);
    const results = await Promise.allSettled(Array.from({ length: missing }, () => this.#create()));
    for (const r of results) if (r.status === 'fulfilled') this.#idle.push(r.value);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  /** An idle sandbox that is still alive, or a new one. */
  async acquire(): Promise<Sandbox> {
    this.#assertOpen();
    for (let s = this.#idle.pop(); s !== undefined; s = this.#idle.pop()) {
      if (!(await this.#usable(s))) continue;
      this.#assertOpen(); // cleanup() ran during the check and has killed it
      return s;
    }
    return this.#create();
  }

  /** Returns a sandbox for the next `acquire`. After `cleanup()` it is killed instead. */
  release(sandbox: Sandbox): void {
    if (this.#closed) {
      void sandbox.kill().catch(() => undefined);
      return;
    }
    if (this.#idle.includes(sandbox)) return; // released twice: keep one entry
    this.#made.add(sandbox);
    this.#idle.push(sandbox);
  }

  /** Closes every sandbox the pool made (idle or still acquired); later acquires fail. Idempotent. */
  async cleanup(): Promise<void> {
    this.#closed = true;
    const all = [...this.#made];
    this.#made.clear();
    this.#idle.length = 0;
    // close(): running commands get SIGTERM and a short grace, as the lifecycle docs' pool does.
    await Promise.all(all.map((s) => s.close().catch(() => s.kill().catch(() => false))));
  }

  async #usable(sandbox: Sandbox): Promise<boolean> {
    try {
      const status = await sandbox.getStatus();
      if (status === 'paused') await sandbox.connect();
      if (status === 'running' || status === 'paused') return true;
    } catch {
      // Unreachable or not resumable: treat as dead, like a closed one.
    }
    this.#made.delete(sandbox);
    void sandbox.kill().catch(() => undefined);
    return false;
  }

  async #create(): Promise<Sandbox> {
    const sandbox = await Sandbox.create(this.#createOpts);
    if (this.#closed) {
      // cleanup() ran while this create was under way: nobody may get it.
      await sandbox.kill().catch(() => undefined);
      throw new SandboxError('the sandbox pool was cleaned up');
    }
    this.#made.add(sandbox);
    return sandbox;
  }

  #assertOpen(): void {
    if (this.#closed) throw new SandboxError('the sandbox pool was cleaned up');
  }
}
