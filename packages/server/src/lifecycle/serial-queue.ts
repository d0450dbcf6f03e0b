import { SandboxdError } from '@sandboxd/common';

/**
 * One queue per key: operations on the same sandbox run one after another, in arrival order,
 * so concurrent kill / setTimeout / connect never interleave their store writes and side effects.
 */
export class SerialQueue {
  readonly #tails = new Map<string, Promise<unknown>>();
  #closing: Promise<void> | undefined;

  /** Rejects with SHUTTING_DOWN once the queue is closed. */
  run<T>(key: string, operation: () => Promise<T>): Promise<T> {
    if (this.#closing) return Promise.reject(new SandboxdError('SHUTTING_DOWN', 'the lifecycle is shutting down'));
    const previous = this.#tails.get(key) ?? Promise.resolve();
    const result = previous.then(operation, operation);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.#tails.set(key, tail);
    void tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    });
    return result;
  }

  /** Resolves when every queued operation has settled. */
  async drain(): Promise<void> {
    while (this.#tails.size > 0) await Promise.all([...this.#tails.values()]);
  }

  /** Refuses new operations and resolves once the queued ones have settled. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.drain();
    return this.#closing;
  }
}
