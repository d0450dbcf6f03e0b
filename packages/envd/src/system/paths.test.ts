import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SandboxdError } from '@sandboxd/common';
import { resolveUserPath } from './paths.js';
import type { SandboxUser } from './users.js';

const user: SandboxUser = {
  name: 'user',
  uid: 1000,
  gid: 1000,
  home: '/home/user',
  shell: '/bin/bash',
  groups: [1000],
};

test('path resolution follows e2b-protocol §3.1', () => {
  assert.equal(resolveUserPath('', user), '/home/user');
  assert.equal(resolveUserPath('', user, '/work'), '/work');
  assert.equal(resolveUserPath('~', user), '/home/user');
  assert.equal(resolveUserPath('~/a/../b.txt', user), '/home/user/b.txt');
  assert.equal(resolveUserPath('hello.txt', user, '/work'), '/home/user/hello.txt');
  assert.equal(resolveUserPath('/etc//passwd', user), '/etc/passwd');
  assert.throws(
    () => resolveUserPath('~root/x', user),
    (err) => SandboxdError.is(err) && err.kind === 'invalid',
  );
});
