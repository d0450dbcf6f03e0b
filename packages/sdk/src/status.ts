import type { ConnectionConfig } from 'e2b';
import { apiError } from './errors.js';
import { callSandboxRoute } from './sandbox-route.js';

/**
 * A sandbox's lifecycle state as the server records it:
 * - `creating`: being provisioned (a `Sandbox` object exists only once `create` answered, so
 *   this is seen through the static `Sandbox.getStatus(id)`, by another client).
 * - `running`: active (also while a pause or resume is under way).
 * - `paused`: what older docs call "Stopped" — e2b's `state: 'paused'`; `connect()` resumes it.
 * - `closed`: killed, expired or unknown to the server. Never an exception.
 */
export type SandboxStatus = 'creating' | 'running' | 'paused' | 'closed';

/** The server's phase (creating, running, pausing, paused, resuming) as a {@link SandboxStatus}. */
export function statusOf(phase: string | undefined, state: string | undefined): SandboxStatus {
  if (phase === 'creating') return 'creating';
  if ((phase ?? state) === 'paused') return 'paused';
  return 'running';
}

/**
 * `GET /sandboxes/{id}`, read for its `phase` (sandboxd's field beside E2B's `state`); a 404 is
 * `closed`. It never wakes a paused sandbox.
 */
export async function readStatus(
  config: ConnectionConfig,
  sandboxId: string,
  opts?: { requestTimeoutMs?: number; signal?: AbortSignal },
): Promise<SandboxStatus> {
  const res = await callSandboxRoute<{ state?: string; phase?: string }>(
    config,
    'GET',
    '/sandboxes/{sandboxID}',
    sandboxId,
    { signal: config.getSignal(opts?.requestTimeoutMs, opts?.signal) },
  );
  if (res.response.ok) return statusOf(res.data?.phase, res.data?.state);
  if (res.response.status === 404) return 'closed';
  throw apiError(res.response.status, res.error, sandboxId);
}
