import { type E2BClientOpts, E2B as E2bClient } from 'e2b';
import { Sandbox } from './sandbox.js';

/**
 * e2b's `E2B` client (connection options bound once, for every call of its classes) whose
 * `Sandbox` is this package's: with the additions and the sandboxd defaults for what the bound
 * options leave out. `Volume`, `Template` and `Secret` are e2b's, unchanged.
 */
export class E2B extends E2bClient {
  declare readonly Sandbox: typeof Sandbox;

  constructor(opts?: E2BClientOpts) {
    super(opts);
    // As e2b does: a bound abort signal would abort every later call.
    const bound: E2BClientOpts & { signal?: unknown } = { ...opts };
    delete bound.signal;
    const Bound = class extends Sandbox {
      protected static override readonly boundOpts = bound;
    };
    // e2b's constructor defined `Sandbox` as an own writable property; this replaces its value.
    Object.defineProperty(this, 'Sandbox', { value: Bound, enumerable: true, writable: false });
  }
}
