import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { needsSandboxHost } from '@sandboxd/runtime/testing';
import { FilesystemEventType, NotEnoughSpaceError, Sandbox } from 'e2b';
import { startTestServer, type TestServer } from '../support/server-harness.js';

const MiB = 1024 * 1024;

/** `total` bytes of a repeating pseudo-random 1 MiB block, hashed as it is produced. */
function generated(total: number): { stream: ReadableStream<Uint8Array>; digest: () => string } {
  const block = new Uint8Array(MiB);
  for (let i = 0; i < block.length; i++) block[i] = (i * 2654435761) >>> 24;
  const hash = createHash('sha256');
  let sent = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent >= total) {
        controller.close();
        return;
      }
      const chunk = block.subarray(0, Math.min(MiB, total - sent));
      hash.update(chunk);
      sent += chunk.length;
      controller.enqueue(chunk.slice());
    },
  });
  return { stream, digest: () => hash.digest('hex') };
}

// Issue #4: envd's filesystem and transfers, through the real server, with the official SDK.
describe('envd files, transfers and watching through sandboxd', needsSandboxHost, () => {
  let server: TestServer;
  let sbx: Sandbox;
  let token: string;
  before(async () => {
    server = await startTestServer({ env: { SANDBOXD_WARM_POOL: '1' } });
    server.useForE2b();
    sbx = await Sandbox.create();
    const info = (await (await server.api('GET', `/sandboxes/${sbx.sandboxId}`)).json()) as { envdAccessToken: string };
    token = info.envdAccessToken;
  });
  after(async () => {
    await sbx?.kill().catch(() => {});
    await server?.stop();
  });
  const envdFetch = (pathname: string, init: RequestInit = {}) =>
    fetch(`${server.url}${pathname}`, {
      ...init,
      headers: { 'e2b-sandbox-id': sbx.sandboxId, 'x-access-token': token, ...(init.headers ?? {}) },
    });

  test('one multipart call writes many nested files, parents created, all owned by user', async () => {
    const files = Array.from({ length: 60 }, (_, i) => ({ path: `multi/d${i % 6}/sub/f${i}.txt`, data: `file ${i}` }));
    const written = await sbx.files.write(files);
    assert.equal(written.length, 60);
    assert.equal(written[7]?.path, '/home/user/multi/d1/sub/f7.txt');
    assert.equal(await sbx.files.read('multi/d5/sub/f59.txt'), 'file 59');
    const owners = await sbx.commands.run('find multi -printf "%u:%g %m\\n" | sort | uniq -c');
    assert.match(owners.stdout.trim(), /^\d+ user:user 644\n\s*\d+ user:user 755$/);
    const listed = await sbx.files.list('multi', { depth: 2 });
    assert.deepEqual(
      listed.slice(0, 3).map((e) => e.path),
      ['/home/user/multi/d0', '/home/user/multi/d0/sub', '/home/user/multi/d1'],
    );
  });

  test('entry info: type, size, mode, permissions, owner, mtime, symlink target; ~ and relative paths', async () => {
    await sbx.files.write('~/info/a.txt', 'abc');
    await sbx.commands.run('ln -s a.txt ~/info/link');
    const file = await sbx.files.getInfo('info/a.txt');
    assert.deepEqual(
      [file.name, file.type, file.path, file.size, file.mode, file.permissions, file.owner, file.group],
      ['a.txt', 'file', '/home/user/info/a.txt', 3, 0o644, '-rw-r--r--', 'user', 'user'],
    );
    assert.ok(Math.abs((file.modifiedTime?.getTime() ?? 0) - Date.now()) < 60_000);
    // A symlink reports its target's type, as E2B's envd does; a dangling one stays a symlink.
    const link = await sbx.files.getInfo('/home/user/info/link');
    assert.equal(link.type, 'file');
    assert.equal(link.symlinkTarget, '/home/user/info/a.txt');
    await sbx.commands.run('ln -s /home/user/info ~/info-dir && ln -s nowhere ~/info/dangling');
    assert.equal((await sbx.files.getInfo('info-dir')).type, 'dir');
    const dangling = await sbx.files.getInfo('info/dangling');
    assert.deepEqual([dangling.type, dangling.symlinkTarget], ['symlink', '/home/user/info/nowhere']);
    const moved = await sbx.files.rename('info/a.txt', 'info/b.txt');
    assert.equal(moved.path, '/home/user/info/b.txt');
    // Metadata: user.e2b.* xattrs on the sandbox's overlay, from the SDK and from inside.
    await sbx.files.write('info/meta.txt', 'm', { metadata: { owner: 'alice' } });
    await sbx.commands.run(`python3 -c "import os; os.setxattr('info/meta.txt', 'user.e2b.author', b'bob')"`);
    assert.deepEqual((await sbx.files.getInfo('info/meta.txt')).metadata, { owner: 'alice', author: 'bob' });
    await sbx.files.remove('info/does-not-exist');
    assert.equal(await sbx.files.exists('info/a.txt'), false);
  });

  test('gzip both ways, Range downloads, and identity for plain fetch', async () => {
    const text = 'compressible line\n'.repeat(5000);
    await sbx.files.write('gz/data.txt', text, { gzip: true });
    assert.equal(await sbx.files.read('gz/data.txt', { gzip: true }), text);
    const gz = await envdFetch('/files?path=gz/data.txt', { headers: { 'accept-encoding': 'gzip' } });
    assert.equal(gz.headers.get('content-encoding'), 'gzip');
    // fetch decodes gzip itself; the body on the wire was much smaller than the file.
    assert.equal(await gz.text(), text);
    const plain = await envdFetch('/files?path=gz/data.txt');
    assert.equal(plain.headers.get('content-encoding'), null);
    assert.equal(plain.headers.get('content-length'), String(text.length));
    await plain.arrayBuffer();
    const ranged = await envdFetch('/files?path=gz/data.txt', { headers: { range: 'bytes=18-35' } });
    assert.equal(ranged.status, 206);
    assert.equal(await ranged.text(), 'compressible line\n');
  });

  test('a full disk is 507 NotEnoughSpaceError (a 64 MiB tmpfs)', async () => {
    const big = new ArrayBuffer(96 * MiB);
    await assert.rejects(sbx.files.write('/dev/shm/too-big.bin', big), NotEnoughSpaceError);
    await sbx.commands.run('rm -f /dev/shm/too-big.bin');
  });

  test('1 GiB streams up and down intact, without envd holding it in memory', async () => {
    const size = 1024 * MiB;
    const up = generated(size);
    await sbx.files.write('big/one-gib.bin', up.stream);
    const expected = up.digest();
    const inside = await sbx.commands.run('stat -c %s big/one-gib.bin; sha256sum big/one-gib.bin', {
      timeoutMs: 120_000,
    });
    const [sizeLine, sumLine] = inside.stdout.trim().split('\n');
    assert.equal(Number(sizeLine), size);
    assert.equal(sumLine?.split(' ')[0], expected);
    const down = await sbx.files.read('big/one-gib.bin', { format: 'stream' });
    const hash = createHash('sha256');
    let received = 0;
    for await (const chunk of down) {
      hash.update(chunk);
      received += chunk.byteLength;
    }
    assert.equal(received, size);
    assert.equal(hash.digest('hex'), expected);
    const hwm = await sbx.commands.run("grep VmHWM /proc/$(pgrep -f 'envd.mjs' | head -1)/status", { user: 'root' });
    const peakKiB = Number(/VmHWM:\s+(\d+)/.exec(hwm.stdout)?.[1]);
    assert.ok(peakKiB > 0 && peakKiB < 300 * 1024, `envd peak RSS ${peakKiB} KiB`);
    await sbx.files.remove('big');
  });

  test('watchDir: create, write, remove with relative names; recursive into folders made later', async () => {
    await sbx.files.makeDir('watched');
    const events: string[] = [];
    const watcher = await sbx.files.watchDir('watched', (e) => void events.push(`${e.type}:${e.name}`), {
      recursive: true,
      timeoutMs: 0,
    });
    const seen = async (event: string) => {
      for (let i = 0; i < 100 && !events.includes(event); i++) await sleep(50);
      return events.includes(event);
    };
    await sbx.files.write('watched/top.txt', 'one');
    assert.ok(await seen(`${FilesystemEventType.CREATE}:top.txt`), events.join(' '));
    await sbx.files.write('watched/top.txt', 'overwritten');
    assert.ok(await seen(`${FilesystemEventType.WRITE}:top.txt`), events.join(' '));
    await sbx.files.makeDir('watched/later/deeper');
    assert.ok(await seen(`${FilesystemEventType.CREATE}:later`), events.join(' '));
    await sleep(200);
    await sbx.files.write('watched/later/deeper/inner.txt', 'two');
    assert.ok(await seen(`${FilesystemEventType.WRITE}:later/deeper/inner.txt`), events.join(' '));
    await sbx.files.remove('watched/top.txt');
    assert.ok(await seen(`${FilesystemEventType.REMOVE}:top.txt`), events.join(' '));
    await watcher.stop();
    // The watch ended cleanly with the client: events after stop are not delivered.
    const count = events.length;
    await sbx.files.write('watched/after.txt', 'x');
    await sleep(300);
    assert.equal(events.length, count);
    // ...and envd's inotify reader for it is gone.
    const readers = async () =>
      Number((await sbx.commands.run("pgrep -c -f 'envd-helpe[r] watch' || true", { user: 'root' })).stdout.trim());
    for (let i = 0; i < 20 && (await readers()) > 0; i++) await sleep(100);
    assert.equal(await readers(), 0);
  });
});
