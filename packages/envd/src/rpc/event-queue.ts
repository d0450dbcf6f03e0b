/**
 * A push → pull bridge from process/watch callbacks to a server-stream generator. While nothing
 * arrives for `keepaliveMs`, the iterator yields KEEPALIVE so proxies and load balancers keep the
 * idle stream open (§3.3.5). Iteration ends on close() or when `signal` aborts (client gone or
 * deadline passed); the pushing side never blocks.
 */
export const KEEPALIVE = Symbol('keepalive');

export class EventQueue<T> {
  private readonly items: T[] = [];
  private closed = false;
  private wake: (() => void) | undefined;

  push(item: T): void {
    if (this.closed) return;
    this.items.push(item);
    this.notify();
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
