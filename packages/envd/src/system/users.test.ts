import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { SandboxdError } from '@sandboxd/common';
import { loadIdNames, lookupUser } from './users.js';

test('users come from passwd, supplementary groups from group membership', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'envd-users-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const files = { passwdFile: path.join(dir, 'passwd'), groupFile: path.join(dir, 'group') };
  fs.writeFileSync(files.passwdFile, 'root:x:0:0:root:/root:/bin/bash\nuser:x:1000:1000::/home/user:/bin/bash\n');
  fs.writeFileSync(files.groupFile, 'root:x:0:\nsudo:x:27:user\nuser:x:1000:\ndocker:x:999:other,user\n');

  assert.deepEqual(await lookupUser('user', files), {
    name: 'user',
    uid: 1000,
    gid: 1000,
    home: '/home/user',
    shell: '/bin/bash',
    groups: [1000, 27, 999],
  });
  await assert.rejects(lookupUser('ghost', files), (err) => SandboxdError.is(err) && err.code === 'UNKNOWN_USER');
  const names = await loadIdNames(files);
  assert.equal(names.user(1000), 'user');
  assert.equal(names.group(999), 'docker');
  assert.equal(names.user(4242), '4242');
});
