import type { ConnectionConfig } from 'e2b';
import { apiError } from './errors.js';
import { callSandboxRoute } from './sandbox-route.js';

/** How long `close()` lets processes exit after SIGTERM before the sandbox is killed. */
export const DEFAULT_CLOSE_GRACE_MS = 2000;
/** The server's bound on one close's grace period (it holds the sandbox's queue meanwhile). */
export const MAX_CLOSE_GRACE_MS = 60_000;

/**
 * `POST /sandboxes/{id}/close`: the server SIGTERMs the sandbox's processes (all of them but its
 * init and envd: commands, their children, daemons), waits up to `graceMs` for them to exit, then
 * kills it and records the kill as a close. Resolves false when the sandbox was already gone.
 */
export async function closeOnServer(config: ConnectionConfig, sandboxId: string, graceMs: number): Promise<boolean> {
  if (!Number.isInteger(graceMs) || graceMs < 0 || graceMs > MAX_CLOSE_GRACE_MS) {
    throw new RangeError(`close({ graceMs }): a whole number of ms from 0 to ${MAX_CLOSE_GRACE_MS}, got ${graceMs}`);
  }
  const res = await callSandboxRoute(config, 'POST', '/sandboxes/{sandboxID}/close', sandboxId, {
    body: { graceMs },
    // The server answers once the grace period and the kill are over (0: no request timeout).
    signal: config.getSignal(config.requestTimeoutMs ? config.requestTimeoutMs + graceMs : undefined),
  });
  if (res.response.ok) return true;
  if (res.response.status === 404) return false;
  throw apiError(res.response.status, res.error, sandboxId);
}
