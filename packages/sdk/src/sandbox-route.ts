import { ApiClient, type ConnectionConfig } from 'e2b';
import type { ApiErrorBody } from './errors.js';

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH';

type UntypedClient = Record<
  Method,
  (
    path: string,
    init: { params: { path: { sandboxID: string } }; body?: unknown; signal?: AbortSignal | undefined },
  ) => Promise<{ data?: unknown; error?: ApiErrorBody; response: Response }>
>;

/**
 * One call of a sandboxd route on a sandbox (`/sandboxes/{sandboxID}…`) that e2b's OpenAPI types do
 * not know, sent through e2b's ApiClient all the same: its headers, user agent, logger and 429
 * Retry-After handling apply as to e2b's own calls.
 */
export async function callSandboxRoute<T>(
  config: ConnectionConfig,
  method: Method,
  path: string,
  sandboxId: string,
  init: { body?: unknown; signal?: AbortSignal | undefined },
): Promise<{ data?: T; error?: ApiErrorBody; response: Response }> {
  const client = new ApiClient(config).api as unknown as UntypedClient;
  const res = await client[method](path, { params: { path: { sandboxID: sandboxId } }, ...init });
  return res as { data?: T; error?: ApiErrorBody; response: Response };
}
