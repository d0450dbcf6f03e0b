import type { Clock } from '@sandboxd/common';

/**
 * One timer for every sandbox deadline. Deadlines live in the store as absolute times; the
 * scheduler asks for the earliest one, sleeps until then, and hands every expired sandbox to
 * `onExpired`. Any change of a deadline calls `reschedule()`. Accuracy: a deadline fires within
 * the event loop's latency of its time (timers are capped at 60 s so clock jumps heal quickly).
 */
export interface DeadlineSource {
  nextDeadline(): number | undefined;
  expiredIds(now: number): string[];
}

const maxSleepMs = 60_000;

export class DeadlineScheduler {
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  readonly #inFlight = new Set<string>();

  constructor(
    private readonly source: DeadlineSource,
    private readonly clock: Clock,
    private readonly onExpired: (sandboxId: string) => Promise<void>,
  ) {}

  reschedule(): void {
    if (this.#stopped) return;
    if (this.#timer) clearTimeout(this.#timer);
    const next = this.source.nextDeadline();
    if (next === undefined) {
      this.#timer = undefined;
      return;
    }
    let delay = Math.min(Math.max(next - this.clock.now(), 0), maxSleepMs);
    // An expired sandbox whose kill is still running keeps its deadline in the past; poll
    // gently instead of spinning until its state changes.
    if (delay === 0 && this.#inFlight.size > 0) delay = 20;
    this.#timer = setTimeout(() => this.#fire(), delay);
    this.#timer.unref();
  }

  #fire(): void {
    this.#timer = undefined;
    for (const id of this.source.expiredIds(this.clock.now())) {
      if (this.#inFlight.has(id)) continue;
      this.#inFlight.add(id);
      void this.onExpired(id).finally(() => {
        this.#inFlight.delete(id);
        this.reschedule();
      });
    }
    this.reschedule();
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
