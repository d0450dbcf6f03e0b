import { createHash, timingSafeEqual } from 'node:crypto';
import { SandboxdError } from '@sandboxd/common';
import { ENVD_PORT, fileOperationForMethod, fileSignature } from '@sandboxd/protocol';
import type { SandboxRecord } from '../store/store.js';

/** What a request that would wake a paused sandbox carries. */
export interface WakeCredentials {
  port: number;
  method: string | undefined;
  /** The request target as sent (path and query): a signed `/files` URL is a credential for envd. */
  url: string | undefined;
  /** The `X-Access-Token` header. */
  accessToken: string | string[] | undefined;
}

/**
 * Traffic wakes a paused `autoResume` sandbox only when it carries the credential the port it is
 * for would demand of a running sandbox: for envd, the sandbox's envd access token (the header,
 * or a `/files` URL signed with it) when it has one. Every envd path counts, `/health` included,
 * so knowing a sandbox's id is never enough to wake a secure one. Other ports demand nothing of
 * a running sandbox (sandboxes have no traffic access token), so they wake it as they would reach it.
 * Returns the error that refuses the request, or undefined when it may wake the sandbox.
 */
export function wakeRefusal(
  record: Pick<SandboxRecord, 'id' | 'envdAccessToken'>,
  request: WakeCredentials,
  nowMs: number = Date.now(),
): SandboxdError | undefined {
  if (request.port !== ENVD_PORT || !record.envdAccessToken) return undefined;
  const header = Array.isArray(request.accessToken) ? request.accessToken[0] : request.accessToken;
  if (header !== undefined && secretsEqual(header, record.envdAccessToken)) return undefined;
  if (header === undefined && validFileSignature(request, record.envdAccessToken, nowMs)) return undefined;
  return new SandboxdError(
    'UNAUTHENTICATED',
    `sandbox ${record.id} is paused; it resumes on traffic only for a request with its envd access token`,
  );
}

function validFileSignature(request: WakeCredentials, accessToken: string, nowMs: number): boolean {
  if (!request.url?.startsWith('/files?')) return false;
  const operation = fileOperationForMethod(request.method);
  if (!operation) return false;
  const query = new URL(request.url, 'http://sandboxd').searchParams;
  const signature = query.get('signature');
  if (!signature) return false;
  const rawExpiration = query.get('signature_expiration');
  const expiration = rawExpiration === null ? undefined : Number(rawExpiration);
  if (expiration !== undefined && (!Number.isInteger(expiration) || expiration < Math.floor(nowMs / 1000))) {
    return false;
  }
  const expected = fileSignature({
    path: query.get('path') ?? '',
    operation,
    username: query.get('username') ?? '',
    accessToken,
    ...(expiration === undefined ? {} : { expiration }),
  });
  return secretsEqual(signature, expected);
}

/** Constant time, and of fixed length so the secret's length does not leak either. */
function secretsEqual(given: string, expected: string): boolean {
  const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();
  return timingSafeEqual(digest(given), digest(expected));
}
