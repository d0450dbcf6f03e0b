import type { ErrorKind } from './errors.js';

/**
 * Error kind → HTTP status, shared by every HTTP wire (the control plane's REST API, the sandbox
 * proxy and envd's REST endpoints): E2B's SDKs read the same statuses as the same error classes on
 * each (404 → not found, 429 → rate limit, 507 → not enough space, 502 → sandbox gone or timed out).
 */
const statusByKind: Record<ErrorKind, number> = {
  invalid: 400,
  unauthenticated: 401,
  forbidden: 403,
  'not-found': 404,
  'method-not-allowed': 405,
  'not-acceptable': 406,
  'unsupported-media-type': 415,
  conflict: 409,
  busy: 409,
  unprocessable: 422,
  'range-not-satisfiable': 416,
  exhausted: 429,
  'insufficient-storage': 507,
  unimplemented: 501,
  unavailable: 503,
  'bad-gateway': 502,
  'deadline-exceeded': 504,
  internal: 500,
};

export function httpStatusForKind(kind: ErrorKind): number {
  return statusByKind[kind];
}
