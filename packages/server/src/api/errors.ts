import { type ErrorKind, type Logger, SandboxdError } from '@sandboxd/common';

/**
 * The one mapping from error kinds to control-plane HTTP statuses. The body is E2B's shape,
 * `{code, message}` with `code` equal to the status: the SDK reads `code` (not the status) to turn
 * 404 into `false`/SandboxNotFoundError and 409 into `false` for pause (e2b-protocol §2.0).
 */
const statusByKind: Record<ErrorKind, number> = {
  invalid: 400,
  unauthenticated: 401,
  forbidden: 403,
  'not-found': 404,
  conflict: 409,
  exhausted: 429,
  'insufficient-storage': 507,
  unimplemented: 501,
  unavailable: 503,
  internal: 500,
};

export interface ApiErrorBody {
  code: number;
  message: string;
}

export function toApiError(err: unknown, logger: Logger): { status: number; body: ApiErrorBody } {
  if (SandboxdError.is(err)) {
    const status = statusByKind[err.kind];
    if (status >= 500) logger.error('request failed', { err, code: err.code });
    return { status, body: { code: status, message: err.message } };
  }
  logger.error('unexpected error', { err });
  return { status: 500, body: { code: 500, message: 'internal error' } };
}

export function statusOfKind(kind: ErrorKind): number {
  return statusByKind[kind];
}
