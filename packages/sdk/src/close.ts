import { ApiClient, type ConnectionConfig } from 'e2b';
import { type ApiErrorBody, apiError } from './errors.js';

/** How long `close()` lets processes exit after SIGTERM before the sandbox is killed. */
export const DEFAULT_CLOSE_GRACE_MS = 2000;
/** The server's bound on one close's grace period (it holds the sandbox's queue meanwhile). */
export const MAX_CLOSE_GRACE_MS = 60_000;

// sandboxd's own route (not in e2b's OpenAPI types), sent through e2b's ApiClient for its
// headers, logger and 429 Retry-After handling.
type UntypedClient = {
  POST: (
    path: string,
    init: { params: { path: { sandboxID: string } }; body: unknown; signal?: AbortSignal },
  ) => Promise<{ error?: ApiErrorBody; response: Response }>;
};

/**
 * `POST /sandboxes/{id}/close`: the server SIGTERMs the sandbox's processes (all of them but its
 * init and envd: commands, their children, daemons), waits up to `graceMs` for them to exit, then
 * kills it and records the kill as a close. Resolves false when the sandbox was already gone.
 */
export async function closeOnServer(config: ConnectionConfig, sandboxId: string, graceMs: number): Promise<boolean> {
  if (!Number.isInteger(graceMs) || graceMs < 0 || graceMs > MAX_CLOSE_GRACE_MS) {
    throw new RangeError(`close({ graceMs }): a whole number of ms from 0 to ${MAX_CLOSE_GRACE_MS}, got ${graceMs}`);
  }
  const client = new ApiClient(config).api as unknown as UntypedClient;
  const res = await client.POST('/sandboxes/{sandboxID}/close', {
    params: { path: { sandboxID: sandboxId } },
    body: { graceMs },
    // The server answers once the grace period and the kill are over (0: no request timeout).
    signal: config.getSignal(config.requestTimeoutMs ? config.requestTimeoutMs + graceMs : undefined),
  });
  if (res.response.ok) return true;
  if (res.response.status === 404) return false;
  throw apiError(res.response.status, res.error, sandboxId);
}
