import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RateLimiter } from './rate-limiter.js';

test('a key gets its burst, then one request per 1/rate seconds, with an honest Retry-After', () => {
  const limiter = new RateLimiter(2);
  const allowed = Array.from({ length: 6 }, () => limiter.take('k', 2, 1_000).allowed);
  assert.deepEqual(allowed, [true, true, true, true, false, false], 'burst = rate × burstSeconds = 4');
  assert.equal(limiter.take('k', 2, 1_000).retryAfterSeconds, 1);
  assert.equal(limiter.take('k', 2, 1_400).allowed, false, '0.4 s refills 0.8 of a token');
  assert.equal(limiter.take('k', 2, 1_500).allowed, true, '0.5 s refills one token');
  assert.equal(limiter.take('other', 2, 1_500).allowed, true, 'keys do not share a bucket');
});

test('slow rates ask for a longer wait; a zero rate is unlimited', () => {
  const limiter = new RateLimiter(1);
  assert.equal(limiter.take('slow', 0.1, 0).allowed, true);
  const refused = limiter.take('slow', 0.1, 0);
  assert.equal(refused.allowed, false);
  assert.equal(refused.retryAfterSeconds, 10);
  for (let i = 0; i < 1000; i++) assert.equal(limiter.take('free', 0, 0).allowed, true);
});
