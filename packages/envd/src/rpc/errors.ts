/**
 * envd Connect wire: catalog kind → Connect code, the one place this mapping lives. The SDK turns
 * the codes into its error classes (e2b-protocol §3.6): not_found → FileNotFoundError /
 * `kill() === false`, already_exists → `makeDir() === false`, and so on.
 */

import { Code, ConnectError } from '@connectrpc/connect';
import { type ErrorKind, type Logger, SandboxdError } from '@sandboxd/common';

const codeByKind: Record<ErrorKind, Code> = {
  invalid: Code.InvalidArgument,
  unauthenticated: Code.Unauthenticated,
  forbidden: Code.PermissionDenied,
  'not-found': Code.NotFound,
  conflict: Code.AlreadyExists,
  exhausted: Code.ResourceExhausted,
  unavailable: Code.Unavailable,
  'insufficient-storage': Code.ResourceExhausted,
  unimplemented: Code.Unimplemented,
  internal: Code.Internal,
};

export function connectCodeForKind(kind: ErrorKind): Code {
  return codeByKind[kind];
}

/** Normalises anything a handler throws; unknown errors are logged and reach the client bare. */
export function toConnectError(err: unknown, log: Logger): ConnectError {
  if (err instanceof ConnectError) return err;
  if (SandboxdError.is(err)) {
    if (err.kind === 'internal') log.error('rpc failed', { err });
    return new ConnectError(err.kind === 'internal' ? 'internal error' : err.message, connectCodeForKind(err.kind));
  }
  log.error('rpc failed', { err });
  return new ConnectError('internal error', Code.Internal);
}
