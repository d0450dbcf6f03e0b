/**
 * At most `limit` sandbox boots at once; the rest wait their turn, first come first served.
 *
 * Why: a boot is CPU- and disk-bound (rootfs, runc, node starting envd). With 200 clients on a
 * 2-core host, 100 boots at once each took 25–40 s and some missed their 15 s health deadline
 * (a 500 for a create that would have worked). Queued, each boot gets the machine it needs; the
 * caller waits longer, but every create that is admitted succeeds.
 */
export class CreateGate {
  #running = 0;
  readonly #waiting: Array<() => void> = [];

  constructor(readonly limit: number) {}

  /** Resolves with a release function once a place is free (or `signal` aborts the wait). */
  async enter(signal?: AbortSignal): Promise<() => void> {
    if (this.#running >= this.limit) {
      await new Promise<void>((resolve, reject) => {
        const go = () => {
          signal?.removeEventListener('abort', abort);
          resolve();
        };
        const abort = () => {
          const at = this.#waiting.indexOf(go);
          if (at >= 0) this.#waiting.splice(at, 1);
          reject(signal?.reason);
        };
        signal?.addEventListener('abort', abort, { once: true });
        this.#waiting.push(go);
      });
    }
    this.#running++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#running--;
      this.#waiting.shift()?.();
    };
  }

  get waiting(): number {
    return this.#waiting.length;
  }
}
