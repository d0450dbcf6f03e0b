/**
 * Signed /files URLs (e2b-protocol §3.2.4), for plain `fetch(downloadUrl)` clients that cannot
 * set headers. sig = "v1_" + unpadded base64(sha256("<path>:<op>:<user>:<token>[:<expiration>]")),
 * where path is exactly as sent (not resolved) and user is empty when none was named.
 */
import { createHash } from 'node:crypto';
import { SandboxdError } from '@sandboxd/common';
import { secretsEqual } from './access-token.js';

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

export interface SignedQuery {
  signature: string | null;
  expiration: string | null;
}

/** Throws UNAUTHENTICATED with E2B's exact messages (tests compare the body byte for byte). */
export function verifyFileSignature(
  query: SignedQuery,
  input: Omit<SignatureInput, 'expiration'>,
  nowMs: number = Date.now(),
): void {
  if (!query.signature) throw new SandboxdError('UNAUTHENTICATED', 'missing signature query parameter');
  let expiration: number | undefined;
  if (query.expiration !== null) {
    expiration = Number(query.expiration);
    if (!Number.isInteger(expiration)) throw new SandboxdError('UNAUTHENTICATED', 'invalid signature expiration');
  }
  const expected = fileSignature({ ...input, ...(expiration === undefined ? {} : { expiration }) });
  if (!secretsEqual(query.signature, expected)) throw new SandboxdError('UNAUTHENTICATED', 'invalid signature');
  if (expiration !== undefined && expiration < Math.floor(nowMs / 1000)) {
    throw new SandboxdError('UNAUTHENTICATED', 'signature is already expired');
  }
}
