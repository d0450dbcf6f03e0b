import { SandboxdError } from '@sandboxd/common';

/** The keys E2B's SDKs send (and check before sending): 1–255 lowercase letters, digits, hyphens. */
const keyPattern = /^[a-z0-9-]{1,255}$/;

export interface IdempotentAnswer {
  status: number;
  body: unknown;
}

export interface IdempotencyOptions {
  /** How long an answer is kept for retries of the same request. */
  windowMs: number;
  /** Bound on remembered keys; the oldest go first. */
  maxEntries: number;
  now: () => number;
}

interface Entry {
  /** The request the key was first used with, canonical JSON. */
  request: string;
  expiresAt: number;
  answer: Promise<IdempotentAnswer>;
}

/**
 * `Idempotency-Key` on sandbox creates (E2B's Python SDK sends it when given `idempotency_key`,
 * and reuses it on every retry of a 429/502/503/504): within the window the same key and team get the same answer
 * instead of a second sandbox. A retry that arrives while the first create runs joins it. The
 * same key with a different request is refused (422, `idempotency_request_mismatch`). A failure
 * that a retry may cure (5xx, 429) is forgotten, so the retry creates; other answers are kept.
 * Kept in memory: a restarted server has forgotten its keys.
 */
export class IdempotencyKeys {
  readonly #entries = new Map<string, Entry>();

  constructor(private readonly o: IdempotencyOptions) {}

  /** Runs `execute` once per (team, key); without a key, every time. */
  run(
    teamId: string,
    key: string | undefined,
    request: unknown,
    execute: () => Promise<IdempotentAnswer>,
  ): Promise<IdempotentAnswer> {
    if (key === undefined) return execute();
    if (!keyPattern.test(key)) {
      throw new SandboxdError(
        'INVALID_REQUEST',
        'Idempotency-Key must be 1 to 255 lowercase letters, digits or hyphens (e.g. a lowercase UUID)',
      );
    }
    this.#forgetExpired();
    const id = `${teamId}\n${key}`;
    const canonical = canonicalJson(request);
    const existing = this.#entries.get(id);
    if (existing) {
      if (existing.request !== canonical) throw new SandboxdError('IDEMPOTENCY_REQUEST_MISMATCH');
      return existing.answer;
    }
    const answer = execute();
    const entry: Entry = { request: canonical, expiresAt: this.o.now() + this.o.windowMs, answer };
    this.#entries.set(id, entry);
    answer.catch((err: unknown) => {
      if (!SandboxdError.is(err) || ['internal', 'exhausted', 'unavailable', 'bad-gateway'].includes(err.kind)) {
        if (this.#entries.get(id) === entry) this.#entries.delete(id);
      }
    });
    while (this.#entries.size > this.o.maxEntries) {
      const oldest = this.#entries.keys().next().value;
      if (oldest === undefined) break;
      this.#entries.delete(oldest);
    }
    return answer;
  }

  #forgetExpired(): void {
    const now = this.o.now();
    // Insertion order is expiry order: every entry gets the same window.
    for (const [id, entry] of this.#entries) {
      if (entry.expiresAt > now) break;
      this.#entries.delete(id);
    }
  }
}

/** JSON with object keys sorted, so the same request written differently compares equal. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
        )
      : v,
  );
}
