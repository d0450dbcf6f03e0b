import { createHash } from 'node:crypto';

/**
 * Signed /files URLs, for plain `fetch(downloadUrl)` clients that cannot
 * set headers. sig = "v1_" + unpadded base64(sha256("<path>:<op>:<user>:<token>[:<expiration>]")),
 * where path is exactly as sent (not resolved) and user is empty when none was named.
 * Part of the wire contract: envd verifies it, and the sandbox proxy uses it to find which
 * sandbox a header-less signed request is for.
 */
export type FileOperation = 'read' | 'write';

export interface SignatureInput {
  path: string;
  operation: FileOperation;
  username: string;
  accessToken: string;
  /** Unix seconds, when the URL carries `signature_expiration`. */
  expiration?: number;
}

export function fileSignature(input: SignatureInput): string {
  const parts = [input.path, input.operation, input.username, input.accessToken];
  if (input.expiration !== undefined) parts.push(String(input.expiration));
  const digest = createHash('sha256').update(parts.join(':'), 'utf8').digest('base64');
  return `v1_${digest.replace(/=+$/, '')}`;
}

/** GET/HEAD read, POST writes; other methods are never signed. */
export function fileOperationForMethod(method: string | undefined): FileOperation | undefined {
  if (method === 'GET' || method === 'HEAD') return 'read';
  if (method === 'POST') return 'write';
  return undefined;
}
