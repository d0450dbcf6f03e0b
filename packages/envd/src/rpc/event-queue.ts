/**
 * A push → pull bridge from process/watch callbacks to a server-stream generator. While nothing
 * arrives for `keepaliveMs`, the iterator yields KEEPALIVE so proxies and load balancers keep the
 * idle stream open (the SDK's Keepalive-Ping-Interval). Iteration ends on close() or when `signal` aborts (client gone or
 * deadline passed); the pushing side never blocks, but it can watch `pendingWeight` (e.g. bytes
 * not yet sent to a slow client) and `onTake` to apply backpressure at its own source.
 */
export const KEEPALIVE = Symbol('keepalive');

export interface EventQueueOptions<T> {
  /** Weight of an item (bytes); `pendingWeight` is the sum over queued items. */
  weigh?: (item: T) => number;
  /** Called after the consumer took an item. */
  onTake?: () => void;
}

export class EventQueue<T> {
  private items: T[] = [];
  private closed = false;
  private wake: (() => void) | undefined;
  private weight = 0;

  constructor(private readonly options: EventQueueOptions<T> = {}) {}

  get pendingWeight(): number {
    return this.weight;
  }

  push(item: T): void {
    if (this.closed) return;
    this.items.push(item);
    this.weight += this.options.weigh?.(item) ?? 0;
    this.notify();
  }

  /** The items nobody took; the queue is closed and empty afterwards. */
  takeRemaining(): T[] {
    const items = this.items;
    this.items = [];
    this.weight = 0;
    this.close();
    return items;
  }

  close(): void {
    this.closed = true;
    this.notify();
  }

  async *drain(signal: AbortSignal, keepaliveMs: number): AsyncGenerator<T | typeof KEEPALIVE> {
    const onAbort = () => this.notify();
    signal.addEventListener('abort', onAbort);
    try {
      while (!signal.aborted) {
        const item = this.items.shift();
        if (item !== undefined) {
          this.weight -= this.options.weigh?.(item) ?? 0;
          this.options.onTake?.();
          yield item;
          continue;
        }
        if (this.closed) return;
        if ((await this.waitForItem(keepaliveMs)) === 'idle') yield KEEPALIVE;
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  private waitForItem(keepaliveMs: number): Promise<'woken' | 'idle'> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wake = undefined;
        resolve('idle');
      }, keepaliveMs);
      this.wake = () => {
        clearTimeout(timer);
        resolve('woken');
      };
    });
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}

/** `Keepalive-Ping-Interval` is in seconds; E2B's envd uses 90 s when it is absent or unusable. */
export function keepaliveIntervalMs(header: string | null): number {
  const seconds = Number(header);
  return header !== null && Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : 90_000;
}
