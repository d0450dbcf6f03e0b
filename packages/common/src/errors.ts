/**
 * The one error catalog. Domain code throws `SandboxdError` with a catalog code; each wire
 * (control-plane REST, envd REST, envd Connect RPC) maps the *kind* to its own status in one place.
 * Lifecycle and runtime code never name HTTP statuses.
 */
export type ErrorKind =
  | 'invalid'
  | 'unauthenticated'
  | 'forbidden'
  | 'not-found'
  | 'method-not-allowed'
  | 'not-acceptable'
  | 'unsupported-media-type'
  | 'conflict'
  | 'busy'
  | 'unprocessable'
  | 'range-not-satisfiable'
  | 'exhausted'
  | 'unavailable'
  | 'bad-gateway'
  | 'deadline-exceeded'
  | 'insufficient-storage'
  | 'unimplemented'
  | 'internal';

export const errorCatalog = {
  INVALID_REQUEST: { kind: 'invalid', message: 'invalid request' },
  INVALID_JSON: { kind: 'invalid', message: 'request body is not valid JSON' },
  UNAUTHENTICATED: { kind: 'unauthenticated', message: 'invalid or missing API key' },
  SANDBOX_NOT_FOUND: { kind: 'not-found', message: 'sandbox not found' },
  TEMPLATE_NOT_FOUND: { kind: 'not-found', message: 'template not found' },
  /** A built-in template this server knows how to build, not built on this machine yet. */
  TEMPLATE_NOT_BUILT: { kind: 'not-found', message: 'template is not built on this server' },
  ROUTE_NOT_FOUND: { kind: 'not-found', message: 'no such route' },
  INVALID_TRANSITION: { kind: 'conflict', message: 'operation not allowed in the current state' },
  IDEMPOTENCY_REQUEST_MISMATCH: {
    kind: 'unprocessable',
    message: 'this Idempotency-Key was used with a different request',
    errorCode: 'idempotency_request_mismatch',
  },
  SANDBOX_NOT_RUNNING: { kind: 'unavailable', message: 'sandbox is not running' },
  SHUTTING_DOWN: { kind: 'unavailable', message: 'the server is shutting down' },
  /** The sandbox could not be frozen or dumped; it was thawed and runs on, reachable as before. */
  PAUSE_REFUSED: { kind: 'unavailable', message: 'the sandbox could not be paused right now; it keeps running' },
  /** The sandbox stopped serving but some of its host resources would not go; they stay for a retry. */
  KILL_INCOMPLETE: {
    kind: 'unavailable',
    message: 'the sandbox is stopped but its teardown is incomplete; kill it again, or the next start-up finishes it',
  },
  CAPACITY_EXHAUSTED: { kind: 'exhausted', message: 'no capacity left' },
  /** The host's free space (less its reserve) cannot hold what a create or a pause may write. */
  STORAGE_EXHAUSTED: { kind: 'insufficient-storage', message: 'not enough free disk space on the host' },
  RATE_LIMITED: { kind: 'exhausted', message: 'too many requests for this API key' },
  NOT_IMPLEMENTED: { kind: 'unimplemented', message: 'not implemented yet' },
  BODY_TOO_LARGE: { kind: 'invalid', message: 'request body too large' },
  RUNTIME_FAILED: { kind: 'internal', message: 'sandbox runtime failed' },
  // The sandbox proxy: E2B's proxy answers 502 with the sandbox's id in the body.
  PROXY_SANDBOX_NOT_FOUND: { kind: 'bad-gateway', message: 'The sandbox was not found' },
  PROXY_PORT_CLOSED: { kind: 'bad-gateway', message: 'The sandbox is running but the port is not open' },
  PROXY_PORT_UNREACHABLE: { kind: 'bad-gateway', message: 'The sandbox is running but the port is not reachable' },
  // envd (in-sandbox agent): files, processes and users inside one sandbox.
  FILE_NOT_FOUND: { kind: 'not-found', message: 'path does not exist' },
  PATH_EXISTS: { kind: 'conflict', message: 'path already exists' },
  PATH_BUSY: { kind: 'busy', message: 'path is in use' },
  PERMISSION_DENIED: { kind: 'forbidden', message: 'permission denied' },
  NOT_ENOUGH_SPACE: { kind: 'insufficient-storage', message: 'not enough disk space' },
  PROCESS_NOT_FOUND: { kind: 'not-found', message: 'process not found' },
  UNKNOWN_USER: { kind: 'unauthenticated', message: 'unknown user' },
  METHOD_NOT_ALLOWED: { kind: 'method-not-allowed', message: 'method not allowed' },
  ENCODING_NOT_ACCEPTABLE: {
    kind: 'not-acceptable',
    message: 'no acceptable encoding found, supported: [identity, gzip]',
  },
  UNSUPPORTED_MEDIA_TYPE: { kind: 'unsupported-media-type', message: 'unsupported content type' },
  RANGE_NOT_SATISFIABLE: { kind: 'range-not-satisfiable', message: 'requested range not satisfiable' },
  SANDBOX_NOT_INITIALISED: { kind: 'unavailable', message: 'sandbox is not initialised yet' },
  /** The template's start command runs, its ready check has not passed yet. */
  SANDBOX_NOT_READY: { kind: 'unavailable', message: 'the template start command is not ready yet' },
  /** The template's start command exited, or its ready check never passed. */
  START_FAILED: { kind: 'bad-gateway', message: 'the template start command failed' },
  PORT_UNREACHABLE: { kind: 'bad-gateway', message: 'nothing listens on that port in the sandbox' },
  DEADLINE_EXCEEDED: { kind: 'deadline-exceeded', message: 'context deadline exceeded' },
  INTERNAL: { kind: 'internal', message: 'internal error' },
} as const satisfies Record<string, { kind: ErrorKind; message: string; errorCode?: string }>;

export type ErrorCode = keyof typeof errorCatalog;

/** E2B's machine-readable `error_code` for this catalog code, where E2B's API defines one. */
export function e2bErrorCode(code: ErrorCode): string | undefined {
  const entry = errorCatalog[code];
  return 'errorCode' in entry ? entry.errorCode : undefined;
}

const brand = Symbol.for('sandboxd.error');

export interface SandboxdErrorOptions {
  cause?: unknown;
  /** For `exhausted` and `unavailable` errors: when trying again may succeed (the wires send `Retry-After`). */
  retryAfterSeconds?: number;
}

export class SandboxdError extends Error {
  readonly code: ErrorCode;
  readonly kind: ErrorKind;
  readonly retryAfterSeconds: number | undefined;
  readonly [brand] = true;

  constructor(code: ErrorCode, message?: string, options?: SandboxdErrorOptions) {
    super(message ?? errorCatalog[code].message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SandboxdError';
    this.code = code;
    this.kind = errorCatalog[code].kind;
    this.retryAfterSeconds = options?.retryAfterSeconds;
  }

  /** Works across duplicate copies of this module (undici's brand trick). */
  static is(value: unknown): value is SandboxdError {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[brand] === true;
  }
}
