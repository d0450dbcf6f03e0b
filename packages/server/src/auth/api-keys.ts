import { createHash, randomBytes } from 'node:crypto';
import { SandboxdError } from '@sandboxd/common';
import type { ApiKeyGrant, Store } from '../store/store.js';

/**
 * API keys look like E2B's (`e2b_` + 40 lowercase hex digits): SDKs from 2.27 to 2.45 reject
 * anything else client-side. Keys are high-entropy random strings, so one SHA-256 is a sound
 * hash for storage (no salt or slow KDF needed); only the hash and a short hint are stored.
 */
const keyPattern = /^e2b_[0-9a-f]{16,128}$/;

export function generateApiKey(): string {
  return `e2b_${randomBytes(20).toString('hex')}`;
}

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

export function isWellFormedApiKey(key: string): boolean {
  return keyPattern.test(key);
}

export const DEFAULT_TEAM_ID = 'default';

export function registerApiKey(
  store: Store,
  teamId: string,
  key: string,
  options: { rateLimitPerSecond?: number | null } = {},
): void {
  if (!isWellFormedApiKey(key)) {
    throw new SandboxdError(
      'INVALID_REQUEST',
      'API key must look like e2b_ followed by 16 to 128 lowercase hex digits',
    );
  }
  store.addApiKey({
    id: randomBytes(8).toString('hex'),
    teamId,
    hash: hashApiKey(key),
    hint: key.slice(-4),
    rateLimitPerSecond: options.rateLimitPerSecond ?? null,
  });
}

/** Resolves the `X-API-KEY` header to its key and team, or throws UNAUTHENTICATED. */
export function authenticate(store: Store, header: string | undefined): ApiKeyGrant {
  if (!header || header.length > 256) throw new SandboxdError('UNAUTHENTICATED');
  const grant = store.findApiKeyByHash(hashApiKey(header.trim()));
  if (!grant) throw new SandboxdError('UNAUTHENTICATED');
  return grant;
}
