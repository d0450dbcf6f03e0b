import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { createdEvent, sampleRecord } from '../../testing/sample-record.js';
import { SpaceReserve } from './space-reserve.js';
import { SqliteStore } from './sqlite-store.js';

const needsRoot = { skip: process.getuid?.() === 0 ? false : 'mounting a small tmpfs needs root' };

/** A real full disk: a 4 MiB tmpfs, unmounted afterwards even on failure (after `first`). */
function smallFilesystem(t: { after: (fn: () => void) => void }, first?: () => void): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sandboxd-reserve-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', dir]);
  t.after(() => {
    first?.();
    execFileSync('umount', [dir]);
    fs.rmdirSync(dir);
  });
  return dir;
}

test('the reserve is real zeros, released on demand, and made again only with room for it', needsRoot, (t) => {
  const dir = smallFilesystem(t);
  const reserve = new SpaceReserve(path.join(dir, 'db-reserve'), 512 * 1024);
  assert.equal(fs.statSync(reserve.file).blocks * 512, 512 * 1024, 'allocated, not sparse');
  assert.equal(reserve.release(), true);
  assert.equal(fs.existsSync(reserve.file), false);
  assert.equal(reserve.release(), false, 'nothing left to release');
  spawnSync('dd', ['if=/dev/zero', `of=${path.join(dir, 'filler')}`, 'bs=64k'], { stdio: 'ignore' });
  reserve.ensure();
  assert.equal(reserve.present, false, 'no room: not made, no error');
  fs.rmSync(path.join(dir, 'filler'));
  reserve.ensure();
  assert.equal(reserve.present, true);
});

test('on a full disk a row change is refused with SQLITE_FULL, but a kill spends the reserve', needsRoot, (t) => {
  let store: SqliteStore | undefined;
  const dir = smallFilesystem(t, () => store?.close());
  store = new SqliteStore(path.join(dir, 'db.sqlite'), { reserveBytes: 512 * 1024 });
  store.migrate();
  store.createTeam({
    id: 't1',
    name: 'one',
    plan: 'pro',
    maxConcurrentSandboxes: 10,
    maxRuntimeSeconds: 86_400,
    maxPausedSandboxes: 5,
    maxDiskMiB: 1000,
  });
  const r = sampleRecord('s1', { teamId: 't1', state: 'running' });
  store.insertSandbox(r, createdEvent(r));
  const reserve = path.join(dir, 'db.sqlite-reserve');
  assert.ok(fs.existsSync(reserve));
  spawnSync('dd', ['if=/dev/zero', `of=${path.join(dir, 'filler')}`, 'bs=4k'], { stdio: 'ignore' });

  // Big metadata: more pages than any free slot of the WAL can take.
  const metadata = Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`k${i}`, 'v'.repeat(500)]));
  assert.throws(
    () => store.changeSandbox('s1', { from: 'running', patch: { metadata }, event: undefined }),
    (err: { code?: string }) => err.code === 'SQLITE_FULL',
  );
  assert.ok(fs.existsSync(reserve), 'a refused write does not spend the reserve');
  const killed = store.changeSandbox('s1', { from: 'running', patch: { state: 'killing' }, event: undefined });
  assert.ok(killed, 'the kill is recorded');
  assert.equal(store.getSandbox('s1')?.state, 'killing');
  assert.equal(fs.existsSync(reserve), false, 'spent');

  fs.rmSync(path.join(dir, 'filler'));
  store.changeSandbox('s1', { from: 'killing', patch: { state: 'killed' }, event: undefined });
  assert.ok(fs.existsSync(reserve), 'made again once there is room');
});
