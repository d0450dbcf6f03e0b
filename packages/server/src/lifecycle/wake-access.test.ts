import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ENVD_PORT, fileSignature } from '@sandboxd/protocol';
import { wakeRefusal } from './wake-access.js';

const secure = { id: 'sbx1', envdAccessToken: 'tok-123' };
const open = { id: 'sbx2', envdAccessToken: null };
const now = 1_800_000_000_000;
const envd = (extra: Partial<Parameters<typeof wakeRefusal>[1]> = {}) => ({
  port: ENVD_PORT,
  method: 'GET',
  url: '/health',
  accessToken: undefined,
  ...extra,
});

function signedUrl(expiration?: number, token = secure.envdAccessToken): string {
  const signature = fileSignature({
    path: '/home/user/a.txt',
    operation: 'read',
    username: 'user',
    accessToken: token,
    ...(expiration === undefined ? {} : { expiration }),
  });
  const query = new URLSearchParams({ path: '/home/user/a.txt', username: 'user', signature });
  if (expiration !== undefined) query.set('signature_expiration', String(expiration));
  return `/files?${query}`;
}

test('envd of a secure sandbox: only its token (header or file signature) may wake it', () => {
  const refused = wakeRefusal(secure, envd(), now);
  assert.equal(refused?.code, 'UNAUTHENTICATED');
  assert.equal(refused?.kind, 'unauthenticated');
  assert.ok(wakeRefusal(secure, envd({ accessToken: 'nope' }), now), 'a wrong token');
  assert.ok(wakeRefusal(secure, envd({ accessToken: '' }), now), 'an empty token');
  assert.equal(wakeRefusal(secure, envd({ accessToken: 'tok-123' }), now), undefined);
  assert.equal(wakeRefusal(secure, envd({ accessToken: ['tok-123'] }), now), undefined);
  assert.equal(wakeRefusal(secure, envd({ url: signedUrl() }), now), undefined, 'a signed download');
  const later = Math.floor(now / 1000) + 60;
  assert.equal(wakeRefusal(secure, envd({ url: signedUrl(later) }), now), undefined, 'signed, not expired');
  assert.ok(wakeRefusal(secure, envd({ url: signedUrl(Math.floor(now / 1000) - 1) }), now), 'signed, expired');
  assert.ok(wakeRefusal(secure, envd({ url: signedUrl(undefined, 'other') }), now), 'signed with another token');
  assert.ok(wakeRefusal(secure, envd({ url: signedUrl(), method: 'DELETE' }), now), 'a method never signed');
  assert.ok(wakeRefusal(secure, envd({ url: signedUrl(), accessToken: 'nope' }), now), 'a wrong header wins');
});

test('ports that need no credential of a running sandbox need none to wake it', () => {
  assert.equal(wakeRefusal(open, envd(), now), undefined, 'envd of a sandbox without a token');
  assert.equal(wakeRefusal(secure, envd({ port: 8080 }), now), undefined, 'a user port (no traffic token)');
});
