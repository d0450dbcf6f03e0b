/**
 * A bounded queue between a synchronous publisher and one async consumer (an SSE stream). When a
 * slow consumer lets it overflow, the inbox closes instead of growing: the client reconnects
 * with `Last-Event-ID` and catches up from the store, so nothing is lost either way.
 */
export class EventInbox<T> {
  readonly #items: T[] = [];
  #wake: (() => void) | undefined;
  #closed = false;

  constructor(private readonly capacity: number) {}

  push(item: T): void {
    if (this.#closed) return;
    if (this.#items.length >= this.capacity) {
      this.close();
      return;
    }
    this.#items.push(item);
    this.#wake?.();
  }

  close(): void {
    this.#closed = true;
    this.#wake?.();
  }

  /** The next item; `undefined` after `idleMs` with none; `null` once closed and drained. */
  async next(idleMs: number): Promise<T | undefined | null> {
    if (this.#items.length === 0 && !this.#closed) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, idleMs);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = undefined;
    }
    if (this.#items.length > 0) return this.#items.shift() as T;
    return this.#closed ? null : undefined;
  }
}
