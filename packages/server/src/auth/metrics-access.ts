import { createHash, timingSafeEqual } from 'node:crypto';
import { SandboxdError } from '@sandboxd/common';
import type { Store } from '../store/store.js';
import { authenticate, DEFAULT_TEAM_ID } from './api-keys.js';

/**
 * Who may read `/metrics`: the counters are server-wide (every team's sandboxes, requests and
 * streams), so they belong to the operator, not to any tenant. That is a key of the default
 * team (the one `SANDBOXD_API_KEY` registers) in `X-API-KEY`, or `Authorization: Bearer <token>`
 * when `SANDBOXD_METRICS_TOKEN` is set (for a Prometheus scraper that should hold no API key).
 * Anything else is refused as unauthenticated, the same as a wrong API key.
 */
export function authorizeMetrics(
  store: Store,
  metricsToken: string | undefined,
  headers: { apiKey: string | undefined; authorization: string | undefined },
): void {
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(headers.authorization ?? '')?.[1];
  if (metricsToken && bearer && sameSecret(bearer, metricsToken)) return;
  if (headers.apiKey === undefined) throw new SandboxdError('UNAUTHENTICATED');
  const grant = authenticate(store, headers.apiKey);
  if (grant.team.id !== DEFAULT_TEAM_ID) {
    throw new SandboxdError('UNAUTHENTICATED', "server metrics are the operator's: use a key of the default team");
  }
}

function sameSecret(given: string, expected: string): boolean {
  // Fixed-length digests: neither the token's content nor its length leaks through timing.
  const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();
  return timingSafeEqual(digest(given), digest(expected));
}
