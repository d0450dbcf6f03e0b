/**
 * Scope: an async disposable stack. Register the disposer on the line right after the resource
 * is created; `dispose()` runs disposers in reverse order, keeps going past failures, and is
 * idempotent (a second call waits for the first). Node 20 has no DisposableStack, so this is ours.
 */
export type Disposer = () => void | Promise<void>;

export class Scope {
  #stack: Array<{ name: string; dispose: Disposer }> = [];
  #disposing: Promise<Error[]> | undefined;

  defer(name: string, dispose: Disposer): void {
    if (this.#disposing) throw new Error(`scope already disposed; cannot register ${name}`);
    this.#stack.push({ name, dispose });
  }

  /** Forget every registered disposer: ownership moved elsewhere (e.g. create succeeded). */
  release(): void {
    this.#stack = [];
  }

  dispose(): Promise<Error[]> {
    this.#disposing ??= (async () => {
      const errors: Error[] = [];
      while (this.#stack.length > 0) {
        const entry = this.#stack.pop();
        if (!entry) break;
        try {
          await entry.dispose();
        } catch (err) {
          errors.push(new Error(`dispose ${entry.name} failed`, { cause: err }));
        }
      }
      return errors;
    })();
    return this.#disposing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.dispose();
  }
}
