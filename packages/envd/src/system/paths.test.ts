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

test('empty is the workdir, ~ the home, relative joins the home, absolute stays', () => {
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

test('a NUL byte or a path past PATH_MAX is refused before any syscall', () => {
  const invalid = (err: unknown) => SandboxdError.is(err) && err.kind === 'invalid';
  assert.throws(() => resolveUserPath('a\0b', user), invalid);
  assert.throws(() => resolveUserPath(`/${'x'.repeat(5000)}`, user), invalid);
  assert.throws(() => resolveUserPath('~/'.concat('é'.repeat(2100)), user), invalid);
});
