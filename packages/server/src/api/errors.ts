import { httpStatusForKind, type Logger, SandboxdError } from '@sandboxd/common';

export interface ApiErrorBody {
  code: number;
  message: string;
}

/**
 * Any thrown value → control-plane status and E2B's body `{code, message}`, with `code` equal to
 * the status: the SDK reads `code` (not the status) to turn 404 into `false`/SandboxNotFoundError
 * and 409 into `false` for pause (e2b-protocol §2.0). Statuses come from the shared kind table.
 */
export function toApiError(
  err: unknown,
  logger: Logger,
): { status: number; body: ApiErrorBody; headers: Record<string, string> } {
  if (SandboxdError.is(err)) {
    const status = httpStatusForKind(err.kind);
    if (status >= 500) logger.error('request failed', { err, code: err.code });
    // Whole seconds: the 2.51 SDK retries a 429 only when Retry-After is an integer.
    const headers: Record<string, string> =
      err.retryAfterSeconds === undefined ? {} : { 'Retry-After': String(Math.ceil(err.retryAfterSeconds)) };
    return { status, body: { code: status, message: err.message }, headers };
  }
  logger.error('unexpected error', { err });
  return { status: 500, body: { code: 500, message: 'internal error' }, headers: {} };
}
