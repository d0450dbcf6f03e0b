import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileSignature } from '@sandboxd/protocol';
import { signedFilesTarget } from './signed-files.js';

const candidates = () => [
  { sandboxId: 'aaa', envdAccessToken: 'token-a' },
  { sandboxId: 'bbb', envdAccessToken: 'token-b' },
];

function url(params: Record<string, string>): string {
  return `/files?${new URLSearchParams(params)}`;
}

test('finds the sandbox whose token made the signature, for reads and writes', () => {
  const read = fileSignature({ path: 'a.txt', operation: 'read', username: 'user', accessToken: 'token-b' });
  assert.deepEqual(signedFilesTarget('GET', url({ path: 'a.txt', username: 'user', signature: read }), candidates), {
    sandboxId: 'bbb',
    port: 49983,
  });
  const write = fileSignature({ path: 'b', operation: 'write', username: '', accessToken: 'token-a', expiration: 99 });
  const target = signedFilesTarget(
    'POST',
    url({ path: 'b', signature: write, signature_expiration: '99' }),
    candidates,
  );
  assert.equal(target?.sandboxId, 'aaa');
});

test('anything else is not routed: wrong op, tampered path, other paths, unknown tokens', () => {
  const read = fileSignature({ path: 'a.txt', operation: 'read', username: '', accessToken: 'token-a' });
  assert.equal(signedFilesTarget('POST', url({ path: 'a.txt', signature: read }), candidates), undefined);
  assert.equal(signedFilesTarget('GET', url({ path: 'b.txt', signature: read }), candidates), undefined);
  assert.equal(signedFilesTarget('DELETE', url({ path: 'a.txt', signature: read }), candidates), undefined);
  assert.equal(signedFilesTarget('GET', `/sandboxes?signature=${read}`, candidates), undefined);
  assert.equal(
    signedFilesTarget('GET', url({ path: 'a.txt', signature: read }), () => []),
    undefined,
  );
  assert.equal(
    signedFilesTarget('GET', url({ path: 'a.txt', signature: read, signature_expiration: 'x' }), candidates),
    undefined,
  );
});
