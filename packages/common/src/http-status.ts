import type { ErrorKind } from './errors.js';

/**
 * Error kind → HTTP status, shared by both E2B HTTP wires (the control plane's REST API and
 * envd's REST endpoints): the SDK maps the same statuses to the same error classes on both
 * (e2b-protocol §2.0 and §3.2).
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

export function httpStatusForKind(kind: ErrorKind): number {
  return statusByKind[kind];
}
