import { AuthenticationError, InvalidArgumentError, RateLimitError, SandboxError, SandboxNotFoundError } from 'e2b';

/**
 * Metadata the server (or the client, before sending) refused: not an object of strings, or
 * beyond the limits (64 entries, keys ≤ 256 characters, values ≤ 4096). Nothing was changed.
 */
export class MetadataValidationError extends InvalidArgumentError {
  constructor(message: string) {
    super(message);
    this.name = 'MetadataValidationError';
  }
}

/** The server's error body, `{"code": <status>, "message": "…"}`. */
export interface ApiErrorBody {
  code?: number;
  message?: string;
}

/**
 * Maps a failed response of one of sandboxd's own routes to the e2b error class the same status
 * gets from e2b's calls, so `instanceof` checks written for e2b keep working.
 */
export function apiError(status: number, body: ApiErrorBody | undefined, sandboxId: string): Error {
  const message = body?.message ?? `HTTP ${status}`;
  if (status === 401) return new AuthenticationError(`Unauthorized, please check your credentials. - ${message}`);
  if (status === 404) return new SandboxNotFoundError(`Sandbox ${sandboxId} not found`);
  if (status === 429) return new RateLimitError(`Rate limit exceeded, please try again later - ${message}`);
  const err = new SandboxError(`${status}: ${message}`);
  err.statusCode = status;
  return err;
}
