/**
 * One token bucket per API key: a key may send `rate` requests per second on average and a burst
 * of `rate × burstSeconds` after a quiet spell. Buckets live in memory (per server process), so a
 * restart forgives everyone; that is the usual trade for a limiter that costs nothing per request.
 */
export interface RateDecision {
  allowed: boolean;
  /** When refused: whole seconds until one request is allowed again (E2B's `Retry-After`). */
  retryAfterSeconds: number;
}

interface Bucket {
  tokens: number;
  updatedAtMs: number;
}

export class RateLimiter {
  readonly #buckets = new Map<string, Bucket>();

  constructor(private readonly burstSeconds: number) {}

  /** Takes one token from `key`'s bucket; `ratePerSecond` ≤ 0 means unlimited. */
  take(key: string, ratePerSecond: number, nowMs: number): RateDecision {
    if (ratePerSecond <= 0) return { allowed: true, retryAfterSeconds: 0 };
    const capacity = Math.max(1, ratePerSecond * this.burstSeconds);
    const bucket = this.#buckets.get(key) ?? { tokens: capacity, updatedAtMs: nowMs };
    const elapsedSeconds = Math.max(0, nowMs - bucket.updatedAtMs) / 1000;
    bucket.tokens = Math.min(capacity, bucket.tokens + elapsedSeconds * ratePerSecond);
    bucket.updatedAtMs = nowMs;
    this.#buckets.set(key, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { allowed: true, retryAfterSeconds: 0 };
    }
    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - bucket.tokens) / ratePerSecond)) };
  }
}
