import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { needsSandboxHost } from '@sandboxd/runtime/testing';
import { Sandbox } from 'e2b';
import { mountPoints, runcContainers, settledHostResources } from '../support/host-resources.js';
import { startTestServer, type TestServer } from '../support/server-harness.js';

// Issue #12: the filesystem of the server's data dir fills up (here a 640 MiB tmpfs the test
// mounts, filled from the host). A create is refused with 507; calls that write the store either
// work or answer 507 too, never 500 `internal`, but a kill is recorded (it gives space back); the
// server keeps serving; once the space is back everything works again and nothing is left behind.

const slotsDir = path.join(process.env.SANDBOXD_MACHINE_DIR ?? '/var/lib/sandboxd', 'slots');

interface Answer {
  status: number;
  body: { code?: number; message?: string } | null;
}

async function answer(res: Response): Promise<Answer> {
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Answer['body']) : null };
}

/** Worked, or a clear E2B-shaped 507 that names no host path. */
function assertWorkedOr507(what: string, a: Answer, ok: number[]): void {
  if (ok.includes(a.status)) return;
  assert.equal(a.status, 507, `${what}: ${JSON.stringify(a)}`);
  assert.equal(a.body?.code, 507);
  assert.match(a.body?.message ?? '', /^not enough free disk space on the host/, what);
  assert.ok(!a.body?.message?.includes('/'), `${what}: no host path in ${a.body?.message}`);
}

describe('the data disk full', needsSandboxHost, () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sandboxd-full-'));
  const filler = path.join(root, 'filler');
  let server: TestServer | undefined;
  before(() => {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=640m,mode=0755', 'tmpfs', root]);
  });
  after(async () => {
    fs.rmSync(filler, { force: true });
    try {
      await server?.stop();
    } finally {
      if (mountPoints().includes(root)) execFileSync('umount', [root]);
      // Never delete through a mount that could not be undone (a leak the assertions report).
      if (!mountPoints().includes(root)) fs.rmSync(root, { recursive: true, force: true });
    }
  });

  test('507 for a create, no 500 from the store, still serving, and all well once space is back', async (t) => {
    const dataDir = path.join(root, 'data');
    fs.mkdirSync(dataDir);
    server = await startTestServer({
      reuseDataDir: dataDir,
      env: { SANDBOXD_WARM_POOL: '0', SANDBOXD_SANDBOX_DISK_MIB: '256', SANDBOXD_DISK_RESERVE_MIB: '64' },
    });
    server.useForE2b();
    const sbx = await Sandbox.create({ timeoutMs: 300_000 });
    const id = sbx.sandboxId;
    await sbx.files.write('/home/user/kept.txt', 'written before the disk filled');

    // Fill the filesystem from the host: dd stops at ENOSPC.
    spawnSync('dd', ['if=/dev/zero', `of=${filler}`, 'bs=1M'], { stdio: 'ignore' });
    const { bavail, bsize } = fs.statfsSync(root);
    t.diagnostic(`free after the filler: ${bavail * bsize} bytes`);
    assert.ok(bavail * bsize < 1024 * 1024, 'the filesystem is full');

    const refused = await answer(await server.api('POST', '/v2/sandboxes', { templateID: 'base', timeout: 60 }));
    t.diagnostic(`create: ${JSON.stringify(refused)}`);
    assertWorkedOr507('create', refused, []);

    // Calls that write the store: each works or answers 507, never 500.
    for (let i = 0; i < 20; i++) {
      const meta = await answer(
        await server.api('PATCH', `/sandboxes/${id}/metadata`, { metadata: { round: String(i) } }),
      );
      assertWorkedOr507('metadata', meta, [200, 204]);
      const timeout = await answer(await server.api('POST', `/sandboxes/${id}/timeout`, { timeout: 300 }));
      assertWorkedOr507('timeout', timeout, [204]);
      if (i === 0 || i === 19) t.diagnostic(`metadata: ${meta.status}, timeout: ${timeout.status}`);
    }
    const pause = await answer(await server.api('POST', `/sandboxes/${id}/pause`, {}));
    t.diagnostic(`pause: ${JSON.stringify(pause)}`);
    assertWorkedOr507('pause', pause, [204]);
    if (pause.status === 204) assert.equal((await (await Sandbox.connect(id)).commands.run('echo up')).stdout, 'up\n');

    // What the sandbox sees writing into its sparse disk while the host has no room for it.
    const write = await sbx.commands
      .run(
        'dd if=/dev/urandom of=/home/user/big bs=1M count=64 conv=fsync 2>&1 | tail -1; echo "dd: $?"; ' +
          'touch /home/user/after && echo touch-ok || echo touch-failed; sync; echo "sync: $?"; ' +
          "df -k /home/user | tail -1; grep ' / ' /proc/mounts",
        { timeoutMs: 60_000 },
      )
      .catch((err: Error) => ({ stdout: `command failed: ${err.message}`, stderr: '' }));
    t.diagnostic(`inside the sandbox: ${write.stdout.replaceAll('\n', ' / ')}`);
    const disk = fs.statSync(path.join(dataDir, 'runtime', 'sandboxes', id, 'disk.img'));
    const hostNow = fs.statfsSync(root);
    t.diagnostic(`disk.img holds ${disk.blocks * 512} bytes; host free ${hostNow.bavail * hostNow.bsize} bytes`);
    const kernel = spawnSync('dmesg', [], { encoding: 'utf8' }).stdout ?? '';
    const ioErrors = kernel.split('\n').filter((l) => /loop|EXT4-fs|I\/O error/.test(l));
    t.diagnostic(`kernel: ${ioErrors.slice(-4).join(' / ') || 'nothing about loop or ext4'}`);

    assert.equal((await server.api('GET', '/health')).status, 200, 'the server keeps serving');
    const info = await answer(await server.api('GET', `/sandboxes/${id}`));
    assert.equal(info.status, 200);
    // A kill is how space comes back: the store spends its reserve file to record it.
    const reserve = path.join(dataDir, 'sandboxd.db-reserve');
    assert.ok(fs.existsSync(reserve), 'the server keeps a reserve beside its database');
    const kill = await answer(await server.api('DELETE', `/sandboxes/${id}`));
    t.diagnostic(`kill while full: ${JSON.stringify(kill)}`);
    assert.equal(kill.status, 204, JSON.stringify(kill));
    assert.equal((await server.api('GET', `/sandboxes/${id}`)).status, 404);
    const diskFreed = fs.statfsSync(root);
    t.diagnostic(`free after the kill: ${diskFreed.bavail * diskFreed.bsize} bytes`);

    // Space back: everything works again, and the reserve is made again.
    fs.rmSync(filler);
    const again = await Sandbox.create({ timeoutMs: 60_000 });
    assert.equal((await again.commands.run('echo fine')).stdout, 'fine\n');
    assert.equal(await again.kill(), true);
    assert.equal(fs.statSync(reserve).size, 8 * 1024 * 1024, 'the reserve is back');
    assert.equal((await server.api('GET', '/health')).status, 200);
    for (const gone of [id, again.sandboxId]) {
      assert.equal((await server.api('GET', `/sandboxes/${gone}`)).status, 404);
      const left = await settledHostResources(server.dataDir, [gone]);
      assert.deepEqual(
        {
          containers: runcContainers(server.dataDir).filter((c) => c === gone),
          processes: left.processes,
          mounts: left.mounts.filter((m) => m.includes(gone)),
          loopDevices: left.loopDevices.filter((l) => l.includes(gone)),
          cgroups: left.cgroups.filter((c) => c.endsWith(`/${gone}`)),
          slots: fs.readdirSync(slotsDir).filter((f) => fs.readFileSync(path.join(slotsDir, f), 'utf8').includes(gone)),
        },
        { containers: [], processes: [], mounts: [], loopDevices: [], cgroups: [], slots: [] },
        `something of ${gone} is left`,
      );
    }
  });
});
