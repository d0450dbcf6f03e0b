import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { needsSandboxHost } from '@sandboxd/runtime/testing';
import { Sandbox } from 'e2b';
import { startTestServer, type TestServer } from '../support/server-harness.js';

// Issue #4: every file API of envd resolves paths inside the sandbox's own root. A secret on
// the host, the server's database and the sandbox's host-side rootfs path stay out of reach
// through `..`, absolute host paths, symlinks (made by the user or by root) and /proc tricks.
describe('envd file paths cannot leave the sandbox', needsSandboxHost, () => {
  let server: TestServer;
  let sbx: Sandbox;
  let secretDir: string;
  const secret = `host-secret-${randomBytes(8).toString('hex')}`;
  before(async () => {
    secretDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sandboxd-host-secret-'));
    fs.writeFileSync(path.join(secretDir, 'secret.txt'), secret);
    server = await startTestServer({ env: { SANDBOXD_WARM_POOL: '0' } });
    server.useForE2b();
    sbx = await Sandbox.create();
  });
  after(async () => {
    await sbx?.kill().catch(() => {});
    await server?.stop();
    fs.rmSync(secretDir, { recursive: true, force: true });
  });

  /** Host paths a sandbox must never read, in every spelling we could think of. */
  function hostPaths(): string[] {
    const file = path.join(secretDir, 'secret.txt');
    const db = path.join(server.dataDir, 'sandboxd.db');
    const sandboxRootOnHost = `/run/sandboxd/sandboxes/${sbx.sandboxId}/rootfs/etc/hostname`;
    return [
      file,
      db,
      sandboxRootOnHost,
      `../../../../../../../..${file}`,
      `~/../../..${file}`,
      `/home/user/../../../..${file}`,
      `/proc/1/root${file}`,
      `/proc/self/root${file}`,
      `/proc/self/cwd/../../../..${file}`,
      `/proc/1/cwd/../../..${db}`,
    ];
  }

  async function readsSecret(p: string): Promise<boolean> {
    try {
      const text = await sbx.files.read(p);
      return text.includes(secret) || text.includes('SQLite format');
    } catch {
      return false;
    }
  }

  test('reads, stats and listings of host paths fail or show only the sandbox', async () => {
    for (const p of hostPaths()) {
      assert.equal(await readsSecret(p), false, `read ${p}`);
      assert.equal(await sbx.files.exists(p), false, `exists ${p}`);
    }
    const procRoot = await sbx.files.list('/proc/1/root/tmp').catch(() => []);
    assert.ok(!procRoot.some((e) => e.name === path.basename(secretDir)), 'the host /tmp is not listed');
  });

  test('symlinks made inside, by user and by root, resolve inside the sandbox', async () => {
    const file = path.join(secretDir, 'secret.txt');
    await sbx.commands.run(`ln -s ${file} ~/to-host-file && ln -s / ~/to-root && ln -s ${secretDir} ~/to-host-dir`);
    await sbx.commands.run(`ln -s ${server.dataDir} /root/to-db`, { user: 'root' });
    for (const p of ['to-host-file', `to-root/${file}`, 'to-host-dir/secret.txt', '/root/to-db/sandboxd.db']) {
      assert.equal(await readsSecret(p), false, `read via ${p}`);
    }
    const info = await sbx.files.getInfo('to-host-file');
    assert.equal(info.type, 'symlink');
    assert.equal(await sbx.files.exists('to-host-dir/secret.txt'), false);
  });

  test('writes, moves and removes through traversal land inside (or nowhere), never on the host', async () => {
    const outside = path.join(secretDir, 'pwned.txt');
    await sbx.files.write(`../../../../../..${outside}`, 'x').catch(() => {});
    await sbx.files.write(`to-host-dir/pwned.txt`, 'x').catch(() => {});
    await sbx.files.write([{ path: `/proc/1/root${outside}`, data: 'x' }]).catch(() => {});
    await sbx.files.makeDir(`../../..${secretDir}/made`).catch(() => {});
    await sbx.files.rename('to-host-file', `../../..${secretDir}/moved`).catch(() => {});
    await sbx.files.remove(`../../../..${path.join(secretDir, 'secret.txt')}`).catch(() => {});
    await sbx.files.remove('to-host-dir/secret.txt').catch(() => {});
    assert.deepEqual(fs.readdirSync(secretDir), ['secret.txt'], 'nothing appeared on or vanished from the host');
    assert.equal(fs.readFileSync(path.join(secretDir, 'secret.txt'), 'utf8'), secret);
    // The traversal was clamped at the sandbox's root: the write exists inside, at the same path.
    assert.equal(await sbx.files.read(outside).catch(() => ''), 'x');
  });

  test('as root too: reads, listings and writes through planted symlinks and /proc/*/root stay inside', async () => {
    const asRoot = { user: 'root' as const };
    const file = path.join(secretDir, 'secret.txt');
    // Planted by root, aimed at the host's view of things: a host dir, the host root via /proc, the db.
    await sbx.commands.run(
      `ln -sfn ${secretDir} /root/r-dir && ln -sfn /proc/1/root /root/r-proc && ln -sfn ${server.dataDir} /root/r-data`,
      asRoot,
    );
    const readsAsRoot = async (p: string) =>
      sbx.files.read(p, asRoot).then(
        (text) => text.includes(secret) || text.includes('SQLite format'),
        () => false,
      );
    for (const p of [...hostPaths(), '/root/r-dir/secret.txt', `/root/r-proc${file}`, '/root/r-data/sandboxd.db']) {
      assert.equal(await readsAsRoot(p), false, `root reads ${p}`);
    }
    for (const dir of ['/root/r-dir', `/root/r-proc${secretDir}`, '/root/r-data', `/proc/1/root${server.dataDir}`]) {
      const names = (await sbx.files.list(dir, asRoot).catch(() => [])).map((e) => e.name);
      assert.ok(!names.includes('secret.txt') && !names.includes('sandboxd.db'), `root lists ${dir}: ${names}`);
    }
    await sbx.files.write('/root/r-dir/root-pwned.txt', 'x', asRoot).catch(() => {});
    await sbx.files.write(`/root/r-proc${secretDir}/root-pwned.txt`, 'x', asRoot).catch(() => {});
    await sbx.files.write('/root/r-data/root-pwned.txt', 'x', asRoot).catch(() => {});
    await sbx.files.remove('/root/r-dir/secret.txt', asRoot).catch(() => {});
    assert.deepEqual(fs.readdirSync(secretDir), ['secret.txt'], 'nothing appeared on or vanished from the host');
    assert.ok(!fs.readdirSync(server.dataDir).includes('root-pwned.txt'), 'the data dir is untouched');
  });

  test('watching and uploading via signed URLs to host paths stay inside too', async () => {
    const events: string[] = [];
    const watcher = await sbx.files
      .watchDir(secretDir, (e) => void events.push(e.name), { timeoutMs: 0 })
      .catch(() => undefined);
    fs.writeFileSync(path.join(secretDir, 'host-write.txt'), 'host');
    await new Promise((r) => setTimeout(r, 300));
    await watcher?.stop();
    fs.rmSync(path.join(secretDir, 'host-write.txt'));
    assert.deepEqual(events, [], 'a host directory of the same name is not what is watched');
    const url = await sbx.downloadUrl(path.join(secretDir, 'secret.txt'));
    const res = await fetch(url);
    assert.notEqual(await res.text(), secret);
  });
});
