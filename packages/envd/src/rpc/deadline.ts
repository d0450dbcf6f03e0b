/**
 * A stream's deadline (`Connect-Timeout-Ms`): connect-es aborts the handler's signal with a
 * deadline_exceeded ConnectError when it passes. A stream that stops because of it must end with
 * that error, as E2B's envd does (its handlers return the context's error): E2B's SDKs raise
 * their TimeoutError / TimeoutException on it, and an end-of-stream without an error or an
 * `end` event makes the Python SDK fail with "command ended without an end event".
 */
import { Code, ConnectError } from '@connectrpc/connect';
import { SandboxdError } from '@sandboxd/common';

function deadlinePassed(signal: AbortSignal): boolean {
  return signal.aborted && signal.reason instanceof ConnectError && signal.reason.code === Code.DeadlineExceeded;
}

export function deadlineExceeded(cause?: unknown): SandboxdError {
  return new SandboxdError('DEADLINE_EXCEEDED', undefined, cause === undefined ? undefined : { cause });
}

/** Call after a stream's loop ended without its last message: a passed deadline is an error. */
export function throwIfDeadlinePassed(signal: AbortSignal): void {
  if (deadlinePassed(signal)) throw deadlineExceeded(signal.reason);
}
