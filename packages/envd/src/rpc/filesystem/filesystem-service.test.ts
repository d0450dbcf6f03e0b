/** filesystem.Filesystem driven by the official e2b SDK against the real envd bundle. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createClient } from '@connectrpc/connect';
import { createConnectTransport } from '@connectrpc/connect-node';
import { Filesystem, FileType, EventType as FsEventType } from '@sandboxd/protocol';
import { FileNotFoundError, FilesystemEventType, InvalidArgumentError } from 'e2b';
import { needsRoot, startEnvd, startSandbox } from '../../testing/envd-harness.js';

test('getInfo: type, mode, Go-style permissions, owner, absolute symlink target', needsRoot, async (t) => {
  const { sandbox, envd } = await startSandbox(t);
  const file = path.join(envd.workdir, 'a.txt');
  fs.writeFileSync(file, 'abc', { mode: 0o644 });
  fs.symlinkSync('a.txt', path.join(envd.workdir, 'link'));
  const info = await sandbox.files.getInfo(file);
  assert.deepEqual(
    [info.name, info.type, info.path, info.size, info.mode, info.permissions, info.owner, info.group],
    ['a.txt', 'file', file, 3, 0o644, '-rw-r--r--', 'root', 'root'],
  );
  const dir = await sandbox.files.getInfo(envd.workdir);
  assert.equal(dir.type, 'dir');
  assert.ok(dir.size > 0);
  assert.match(dir.permissions, /^drwx/);
  const link = await sandbox.files.getInfo(path.join(envd.workdir, 'link'));
  assert.equal(link.symlinkTarget, fs.realpathSync(file));
  assert.equal(await sandbox.files.exists(path.join(envd.workdir, 'nope')), false);
  await assert.rejects(sandbox.files.getInfo(path.join(envd.workdir, 'nope')), FileNotFoundError);
});

test(
  'a symlink reports its target type and absolute target; a dangling one answers as symlink',
  needsRoot,
  async (t) => {
    const { sandbox, envd } = await startSandbox(t);
    const dir = fs.realpathSync(envd.workdir);
    fs.writeFileSync(path.join(dir, 'a.txt'), 'abc', { mode: 0o600 });
    fs.mkdirSync(path.join(dir, 'sub'));
    fs.symlinkSync('a.txt', path.join(dir, 'to-file'));
    fs.symlinkSync('sub', path.join(dir, 'to-dir'));
    fs.symlinkSync('missing', path.join(dir, 'dangling'));
    fs.symlinkSync('loop', path.join(dir, 'loop'));

    const toFile = await sandbox.files.getInfo(path.join(dir, 'to-file'));
    assert.deepEqual(
      [toFile.type, toFile.symlinkTarget, toFile.mode, toFile.permissions],
      ['file', path.join(dir, 'a.txt'), 0o600, 'Lrwxrwxrwx'],
    );
    const toDir = await sandbox.files.getInfo(path.join(dir, 'to-dir'));
    assert.deepEqual([toDir.type, toDir.symlinkTarget], ['dir', path.join(dir, 'sub')]);
    const dangling = await sandbox.files.getInfo(path.join(dir, 'dangling'));
    assert.deepEqual([dangling.type, dangling.symlinkTarget], ['symlink', path.join(dir, 'missing')]);
    const loop = await sandbox.files.getInfo(path.join(dir, 'loop'));
    assert.deepEqual([loop.type, loop.symlinkTarget], ['symlink', path.join(dir, 'loop')]);
    assert.equal(await sandbox.files.exists(path.join(dir, 'dangling')), true);

    const listed = await sandbox.files.list(dir);
    assert.deepEqual(
      listed.map((e) => [e.name, e.type]),
      [
        ['a.txt', 'file'],
        ['dangling', 'symlink'],
        ['loop', 'symlink'],
        ['sub', 'dir'],
        ['to-dir', 'dir'],
        ['to-file', 'file'],
      ],
    );
    // The walk does not descend through a link to a directory (no cycles, no escapes).
    const deep = await sandbox.files.list(dir, { depth: 3 });
    assert.ok(!deep.some((e) => e.path.startsWith(path.join(dir, 'to-dir/'))));
  },
);

test('list walks in lexical pre-order up to depth, with absolute paths', needsRoot, async (t) => {
  const { sandbox, envd } = await startSandbox(t);
  const root = path.join(envd.workdir, 'tree');
  for (const dir of ['subdir1/subdir1_1', 'subdir1/subdir1_2', 'subdir2/subdir2_1']) {
    fs.mkdirSync(path.join(root, dir), { recursive: true });
  }
  fs.writeFileSync(path.join(root, 'file1.txt'), '');
  const depth1 = await sandbox.files.list(root);
  assert.deepEqual(
    depth1.map((e) => e.name),
    ['file1.txt', 'subdir1', 'subdir2'],
  );
  const depth2 = await sandbox.files.list(root, { depth: 2 });
  assert.deepEqual(
    depth2.map((e) => path.relative(root, e.path)),
    ['file1.txt', 'subdir1', 'subdir1/subdir1_1', 'subdir1/subdir1_2', 'subdir2', 'subdir2/subdir2_1'],
  );
  await assert.rejects(sandbox.files.list(path.join(root, 'file1.txt')), InvalidArgumentError);
});

test('makeDir, rename, remove (missing is fine)', needsRoot, async (t) => {
  const { sandbox, envd } = await startSandbox(t);
  const dir = path.join(envd.workdir, 'x/y');
  assert.equal(await sandbox.files.makeDir(dir), true);
  assert.equal(await sandbox.files.makeDir(dir), false);
  fs.writeFileSync(path.join(dir, 'f.txt'), 'f');
  const moved = await sandbox.files.rename(path.join(dir, 'f.txt'), path.join(envd.workdir, 'z/g.txt'));
  assert.equal(moved.path, path.join(envd.workdir, 'z/g.txt'));
  assert.equal(fs.readFileSync(moved.path, 'utf8'), 'f');
  await assert.rejects(sandbox.files.rename(path.join(dir, 'gone'), path.join(dir, 'h')), FileNotFoundError);
  await sandbox.files.remove(path.join(envd.workdir, 'x'));
  assert.equal(fs.existsSync(path.join(envd.workdir, 'x')), false);
  await sandbox.files.remove(path.join(envd.workdir, 'never-existed'));
});

test('watchDir reports create and write with relative names, recursing into new dirs', needsRoot, async (t) => {
  const { sandbox, envd } = await startSandbox(t);
  const seen: string[] = [];
  const handle = await sandbox.files.watchDir(
    envd.workdir,
    (e) => {
      seen.push(`${e.type}:${e.name}`);
    },
    {
      recursive: true,
      timeoutMs: 0,
    },
  );
  t.after(() => handle.stop());
  await sandbox.files.write(path.join(envd.workdir, 'w.txt'), 'one');
  await sandbox.files.makeDir(path.join(envd.workdir, 'sub'));
  await sleep(200); // let the new directory's watch attach before writing into it
  await sandbox.files.write(path.join(envd.workdir, 'sub/file'), 'two');
  await sandbox.files.remove(path.join(envd.workdir, 'w.txt'));
  for (let i = 0; i < 50 && !seen.includes(`${FilesystemEventType.REMOVE}:w.txt`); i++) await sleep(100);
  assert.ok(seen.includes(`${FilesystemEventType.CREATE}:w.txt`), seen.join(' '));
  assert.ok(seen.includes(`${FilesystemEventType.WRITE}:w.txt`), seen.join(' '));
  assert.ok(seen.includes(`${FilesystemEventType.CREATE}:sub`), seen.join(' '));
  assert.ok(seen.includes(`${FilesystemEventType.WRITE}:sub/file`), seen.join(' '));
  assert.ok(seen.includes(`${FilesystemEventType.REMOVE}:w.txt`), seen.join(' '));
  await assert.rejects(
    sandbox.files.watchDir(path.join(envd.workdir, 'nope'), () => {}),
    FileNotFoundError,
  );
});

test('watchDir reports rename and chmod as such (raw inotify), with entries when asked', needsRoot, async (t) => {
  const { sandbox, envd } = await startSandbox(t);
  const seen: string[] = [];
  const entries = new Map<string, string | undefined>();
  const handle = await sandbox.files.watchDir(
    envd.workdir,
    (e) => {
      seen.push(`${e.type}:${e.name}`);
      entries.set(`${e.type}:${e.name}`, e.entry?.path);
    },
    { timeoutMs: 0, includeEntry: true },
  );
  t.after(() => handle.stop());
  const from = path.join(envd.workdir, 'from.txt');
  fs.writeFileSync(from, 'x');
  fs.chmodSync(from, 0o600);
  fs.renameSync(from, path.join(envd.workdir, 'to.txt'));
  for (let i = 0; i < 50 && !seen.includes(`${FilesystemEventType.CREATE}:to.txt`); i++) await sleep(100);
  assert.deepEqual(
    seen.filter((s) => !s.startsWith(`${FilesystemEventType.WRITE}:`)),
    [
      `${FilesystemEventType.CREATE}:from.txt`,
      `${FilesystemEventType.CHMOD}:from.txt`,
      `${FilesystemEventType.RENAME}:from.txt`,
      `${FilesystemEventType.CREATE}:to.txt`,
    ],
  );
  assert.equal(entries.get(`${FilesystemEventType.CREATE}:to.txt`), path.join(envd.workdir, 'to.txt'));
});

test('the polling trio (CreateWatcher, GetWatcherEvents, RemoveWatcher) over Connect', needsRoot, async (t) => {
  const envd = await startEnvd(t);
  const client = createClient(Filesystem, createConnectTransport({ baseUrl: envd.url, httpVersion: '1.1' }));
  fs.mkdirSync(path.join(envd.workdir, 'polled'));
  const { watcherId } = await client.createWatcher({ path: path.join(envd.workdir, 'polled'), recursive: true });
  fs.mkdirSync(path.join(envd.workdir, 'polled/new'));
  await sleep(200);
  fs.writeFileSync(path.join(envd.workdir, 'polled/new/f'), 'x');
  await sleep(200);
  const { events } = await client.getWatcherEvents({ watcherId });
  const seen = events.map((e) => `${e.type}:${e.name}`);
  assert.ok(seen.includes(`${FsEventType.CREATE}:new`), seen.join(' '));
  assert.ok(seen.includes(`${FsEventType.WRITE}:new/f`), seen.join(' '));
  assert.deepEqual((await client.getWatcherEvents({ watcherId })).events, []);
  await client.removeWatcher({ watcherId });
  await assert.rejects(client.getWatcherEvents({ watcherId }), /not found/);
});

test('a polling watcher created with includeEntry puts the entry in its events', needsRoot, async (t) => {
  const envd = await startEnvd(t);
  const client = createClient(Filesystem, createConnectTransport({ baseUrl: envd.url, httpVersion: '1.1' }));
  const dir = path.join(envd.workdir, 'polled-entries');
  fs.mkdirSync(dir);
  // Removed by the envd's own teardown (t.after hooks run first-registered first).
  const { watcherId } = await client.createWatcher({ path: dir, includeEntry: true });
  fs.writeFileSync(path.join(dir, 'kept.txt'), 'hello');
  fs.writeFileSync(path.join(dir, 'gone.txt'), 'x');
  await sleep(200);
  fs.rmSync(path.join(dir, 'gone.txt'));
  let events: Awaited<ReturnType<typeof client.getWatcherEvents>>['events'] = [];
  for (let i = 0; i < 50 && !events.some((e) => e.type === FsEventType.REMOVE); i++) {
    events.push(...(await client.getWatcherEvents({ watcherId })).events);
    await sleep(100);
  }
  const created = events.find((e) => e.type === FsEventType.CREATE && e.name === 'kept.txt');
  assert.equal(created?.entry?.path, path.join(dir, 'kept.txt'));
  assert.equal(created?.entry?.type, FileType.FILE);
  // Taken when the event arrived: the create of a file removed since is still described.
  assert.equal(events.find((e) => e.type === FsEventType.CREATE && e.name === 'gone.txt')?.entry?.name, 'gone.txt');

  const { watcherId: plain } = await client.createWatcher({ path: dir });
  fs.writeFileSync(path.join(dir, 'bare.txt'), '');
  await sleep(200);
  events = (await client.getWatcherEvents({ watcherId: plain })).events;
  assert.ok(events.length > 0 && events.every((e) => e.entry === undefined));
});
