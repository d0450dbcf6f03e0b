/**
 * Routes a header-less signed /files request (a plain `fetch(sandbox.downloadUrl(...))` when the
 * SDK was pointed at one shared E2B_SANDBOX_URL, so the request names no sandbox) to the one
 * running sandbox whose envd access token the signature was made with. Scoped: only `/files`, only GET/HEAD/POST,
 * only `v1_` signatures, only running sandboxes that have a token. The signature is recomputed
 * per candidate and compared in constant time; envd then verifies it again (expiry included),
 * so this only picks where to send the request and never grants anything by itself.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { ENVD_PORT, fileOperationForMethod, fileSignature } from '@sandboxd/protocol';
import type { ProxyTarget } from './match.js';

export interface SignedCandidate {
  sandboxId: string;
  envdAccessToken: string;
}

export function signedFilesTarget(
  method: string | undefined,
  rawUrl: string | undefined,
  candidates: () => SignedCandidate[],
): ProxyTarget | undefined {
  if (!rawUrl?.startsWith('/files?')) return undefined;
  const operation = fileOperationForMethod(method);
  if (!operation) return undefined;
  const query = new URL(rawUrl, 'http://sandboxd').searchParams;
  const signature = query.get('signature');
  if (!signature?.startsWith('v1_')) return undefined;
  const rawExpiration = query.get('signature_expiration');
  const expiration = rawExpiration === null ? undefined : Number(rawExpiration);
  if (expiration !== undefined && !Number.isInteger(expiration)) return undefined;
  const given = digest(signature);
  for (const candidate of candidates()) {
    const expected = fileSignature({
      path: query.get('path') ?? '',
      operation,
      username: query.get('username') ?? '',
      accessToken: candidate.envdAccessToken,
      ...(expiration === undefined ? {} : { expiration }),
    });
    if (timingSafeEqual(given, digest(expected))) return { sandboxId: candidate.sandboxId, port: ENVD_PORT };
  }
  return undefined;
}

/** Fixed-length inputs for timingSafeEqual, so the signature's length does not leak either. */
function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}
