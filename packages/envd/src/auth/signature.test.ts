import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SandboxdError } from '@sandboxd/common';
import { fileSignature } from '@sandboxd/protocol';
import { getSignature } from 'e2b';
import { verifyFileSignature } from './signature.js';

const token = '0tQG31xiMp0IOQfaz9dcwi72L1CPo8e0';

test('matches the signature the official SDK computes (getSignature)', async () => {
  const ours = fileSignature({ path: 'hello.txt', operation: 'read', username: 'user', accessToken: token });
  assert.equal(ours, 'v1_gUtH/s9YCJWgCizjfUxuWfhFE4QSydOWEIIvfLwDr6E');
  const sdk = await getSignature({ path: 'hello.txt', operation: 'read', user: 'user', envdAccessToken: token });
  assert.equal(ours, sdk.signature);
});

test('verification: missing, wrong, expired, valid', () => {
  const input = { path: 'a.txt', operation: 'write' as const, username: '', accessToken: token };
  const messageOf = (fn: () => void) => {
    try {
      fn();
      return 'ok';
    } catch (err) {
      assert.ok(SandboxdError.is(err) && err.kind === 'unauthenticated');
      return err.message;
    }
  };
  assert.equal(
    messageOf(() => verifyFileSignature({ signature: null, expiration: null }, input)),
    'missing signature query parameter',
  );
  assert.equal(
    messageOf(() => verifyFileSignature({ signature: 'v1_nope', expiration: null }, input)),
    'invalid signature',
  );
  const now = 1_800_000_000_000;
  const past = now / 1000 - 1;
  const expired = fileSignature({ ...input, expiration: past });
  assert.equal(
    messageOf(() => verifyFileSignature({ signature: expired, expiration: String(past) }, input, now)),
    'signature is already expired',
  );
  const future = now / 1000 + 60;
  const valid = fileSignature({ ...input, expiration: future });
  assert.equal(
    messageOf(() => verifyFileSignature({ signature: valid, expiration: String(future) }, input, now)),
    'ok',
  );
  // The expiration is signed: moving it invalidates the signature.
  assert.equal(
    messageOf(() => verifyFileSignature({ signature: valid, expiration: String(future + 1) }, input, now)),
    'invalid signature',
  );
});
