/**
 * Verifies signed /files URLs (`signature`, `signature_expiration` queries); the formula itself is wire contract and
 * lives in @sandboxd/protocol.
 */
import { SandboxdError } from '@sandboxd/common';
import { fileSignature, type SignatureInput } from '@sandboxd/protocol';
import { secretsEqual } from './access-token.js';

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
