import { AuthenticationError, InvalidArgumentError, NotFoundError, type SandboxOpts, TemplateError } from 'e2b';
import { Sandbox } from './sandbox.js';

/** Refusals that the same request cannot overcome by waiting: bad key, bad input, unknown template. */
const FINAL_STATUSES = new Set([400, 401, 403, 404, 409, 422]);

/** True for an error a later attempt of the same create cannot cure. */
export function isFinalCreateError(err: unknown): boolean {
  if (err instanceof AuthenticationError || err instanceof InvalidArgumentError) return true;
  if (err instanceof NotFoundError || err instanceof TemplateError) return true;
  const status = (err as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === 'number' && FINAL_STATUSES.has(status);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(done, ms);
    function done() {
      signal?.removeEventListener('abort', abort);
      resolve();
    }
    function abort() {
      clearTimeout(timer);
      reject(signal?.reason);
    }
    signal?.addEventListener('abort', abort, { once: true });
  });
}

/**
 * `Sandbox.create(createOpts)` in up to `maxRetries` attempts, waiting 1 s, 2 s, 3 s, … between
 * them. Errors no retry can cure (bad key, bad input, unknown template) are thrown at once; the
 * last attempt's error is thrown as is. A `429` is first retried by e2b's own API client after the
 * server's `Retry-After` (up to `createOpts.retries` times, default 3); only when those run out
 * does it reach this loop, which then backs off as for any other error.
 */
export async function createSandboxWithRetry(maxRetries = 3, createOpts?: SandboxOpts): Promise<Sandbox> {
  if (!Number.isInteger(maxRetries) || maxRetries < 1) {
    throw new InvalidArgumentError(`maxRetries must be a positive integer, got ${maxRetries}`);
  }
  for (let attempt = 0; ; attempt++) {
    try {
      return await Sandbox.create(createOpts);
    } catch (err) {
      if (attempt >= maxRetries - 1 || isFinalCreateError(err)) throw err;
      await sleep(1000 * (attempt + 1), createOpts?.signal);
    }
  }
}
