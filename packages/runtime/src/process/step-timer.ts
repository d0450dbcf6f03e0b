/**
 * Times the steps of one operation (create latency matters; each step is logged at debug level
 * and the totals go into the final log line). Steps may overlap when run concurrently.
 */
export class StepTimer {
  readonly #start = performance.now();
  readonly steps: Record<string, number> = {};

  constructor(private readonly onStep?: (step: string) => void | Promise<void>) {}

  async step<T>(name: string, fn: () => Promise<T>): Promise<T> {
    // The hook runs first so a test can inject a failure at exactly this step.
    await this.onStep?.(name);
    const t0 = performance.now();
    try {
      return await fn();
    } finally {
      this.steps[name] = Math.round((performance.now() - t0) * 10) / 10;
    }
  }

  elapsedMs(): number {
    return Math.round((performance.now() - this.#start) * 10) / 10;
  }
}
