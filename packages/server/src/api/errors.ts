import { e2bErrorCode, httpStatusForKind, type Logger, SandboxdError } from '@sandboxd/common';
import { HTTPException } from 'hono/http-exception';
import { isDiskFull } from '../store/disk-full.js';

export interface ApiErrorBody {
  code: number;
  message: string;
  /** E2B's machine-readable code, for the errors E2B names (e.g. idempotency_request_mismatch). */
  error_code?: string;
}

/**
 * Any thrown value → control-plane status and E2B's body `{code, message}`, with `code` equal to
 * the status: the SDK reads `code` (not the status) to turn 404 into `false`/SandboxNotFoundError
 * and 409 into `false` for pause. Statuses come from the catalog's kind table only: an error that
 * is not a catalog error becomes the cause of one (a framework's 4xx: INVALID_REQUEST; anything
 * else: INTERNAL, logged, its text never sent). A failure for want of disk space (SQLite's
 * SQLITE_FULL, ENOSPC, also as the cause of a RUNTIME_FAILED) is STORAGE_EXHAUSTED: 507, as a create
 * refused by the disk admission is, not a 500.
 */
export function toApiError(
  err: unknown,
  logger: Logger,
): { status: number; body: ApiErrorBody; headers: Record<string, string> } {
  const known = asCatalogError(err);
  const status = httpStatusForKind(known.kind);
  if (known.code === 'STORAGE_EXHAUSTED' && known !== err) logger.warn('the disk is full', { err });
  // Only failures of ours are logged as errors; refusals (503 while shutting down, …) are answers.
  if (known.kind === 'internal') {
    if (SandboxdError.is(err)) logger.error('request failed', { err, code: err.code });
    else logger.error('unexpected error', { err });
  }
  // Whole seconds: the 2.51 SDK retries a 429 only when Retry-After is an integer.
  const headers: Record<string, string> =
    known.retryAfterSeconds === undefined ? {} : { 'Retry-After': String(Math.ceil(known.retryAfterSeconds)) };
  const errorCode = e2bErrorCode(known.code);
  return {
    status,
    body: { code: status, message: known.message, ...(errorCode ? { error_code: errorCode } : {}) },
    headers,
  };
}

function asCatalogError(err: unknown): SandboxdError {
  if (SandboxdError.is(err) && err.kind !== 'internal') return err;
  if (isDiskFull(err)) return new SandboxdError('STORAGE_EXHAUSTED', undefined, { cause: err });
  if (SandboxdError.is(err)) return err;
  if (err instanceof HTTPException && err.status < 500) {
    return new SandboxdError('INVALID_REQUEST', err.message || 'invalid request', { cause: err });
  }
  return new SandboxdError('INTERNAL', undefined, { cause: err });
}
