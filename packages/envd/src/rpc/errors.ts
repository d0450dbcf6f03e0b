/**
 * envd Connect wire: catalog kind → Connect code, the one place this mapping lives. E2B's SDKs
 * turn the codes into their error classes: not_found → FileNotFoundError (and `kill() === false`),
 * already_exists → `makeDir() === false`, resource_exhausted → NotEnoughSpaceError,
 * deadline_exceeded → TimeoutError, invalid_argument → InvalidArgumentError.
 */

import { Code, ConnectError } from '@connectrpc/connect';
import { type ErrorKind, type Logger, SandboxdError } from '@sandboxd/common';

const codeByKind: Record<ErrorKind, Code> = {
  invalid: Code.InvalidArgument,
  unauthenticated: Code.Unauthenticated,
  forbidden: Code.PermissionDenied,
  'not-found': Code.NotFound,
  // The HTTP-only kinds below never come out of an RPC handler; the closest codes.
  'method-not-allowed': Code.Unimplemented,
  'not-acceptable': Code.InvalidArgument,
  'unsupported-media-type': Code.InvalidArgument,
  'range-not-satisfiable': Code.OutOfRange,
  conflict: Code.AlreadyExists,
  // In use (a mount point, a running program): the state, not the request, is the obstacle.
  busy: Code.FailedPrecondition,
  unprocessable: Code.FailedPrecondition,
  exhausted: Code.ResourceExhausted,
  unavailable: Code.Unavailable,
  'bad-gateway': Code.Unavailable,
  'deadline-exceeded': Code.DeadlineExceeded,
  'insufficient-storage': Code.ResourceExhausted,
  unimplemented: Code.Unimplemented,
  internal: Code.Internal,
};

export function connectCodeForKind(kind: ErrorKind): Code {
  return codeByKind[kind];
}

/**
 * Normalises anything a handler throws into a catalog error on the Connect wire. Errors of other
 * classes (connect-es's own, errno errors) become the cause of a catalog error; unknown ones are
 * logged and reach the client as a bare `internal`.
 */
export function toConnectError(err: unknown, log: Logger): ConnectError {
  const known = toCatalogError(err);
  if (known.kind === 'internal') log.error('rpc failed', { err: known.cause ?? known });
  // Only the message and the code reach the client; the catalog error is the cause, for logs.
  const message = known.kind === 'internal' ? 'internal error' : known.message;
  return new ConnectError(message, connectCodeForKind(known.kind), undefined, undefined, known);
}

function toCatalogError(err: unknown): SandboxdError {
  if (SandboxdError.is(err)) return err;
  if (err instanceof ConnectError) {
    // connect-es raises these itself: a malformed request body, an unknown method, a deadline.
    const code = catalogCodeForConnect[err.code];
    if (code) return new SandboxdError(code, err.rawMessage, { cause: err });
  }
  return new SandboxdError('INTERNAL', undefined, { cause: err });
}

const catalogCodeForConnect: Partial<Record<Code, SandboxdError['code']>> = {
  [Code.InvalidArgument]: 'INVALID_REQUEST',
  [Code.Unauthenticated]: 'UNAUTHENTICATED',
  [Code.DeadlineExceeded]: 'DEADLINE_EXCEEDED',
  [Code.Unimplemented]: 'NOT_IMPLEMENTED',
  [Code.NotFound]: 'ROUTE_NOT_FOUND',
};
