/**
 * The sandbox's access token (`envdAccessToken` of the sandbox): when configured, every request except
 * GET /health must carry `X-Access-Token` equal to it. Compared in constant time so response
 * timing does not leak how much of a guess was right.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

export function secretsEqual(given: string, expected: string): boolean {
  // Hash both sides first: timingSafeEqual needs equal lengths, and the length must not leak either.
  const a = createHash('sha256').update(given, 'utf8').digest();
  const b = createHash('sha256').update(expected, 'utf8').digest();
  return timingSafeEqual(a, b);
}

export type TokenCheck = 'no-token-required' | 'valid' | 'invalid' | 'missing';

export function checkAccessToken(header: string | string[] | undefined, expected: string | undefined): TokenCheck {
  if (expected === undefined || expected === '') return 'no-token-required';
  if (header === undefined) return 'missing';
  const given = Array.isArray(header) ? header[0] : header;
  return given !== undefined && secretsEqual(given, expected) ? 'valid' : 'invalid';
}
