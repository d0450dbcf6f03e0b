import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { slotFor } from '../slots/slot.js';
import { needsSandboxHost } from '../testing/host-requirements.js';
import { assertNothingLeft, createHarness } from '../testing/runtime-fixture.js';

test('a sandbox starts, answers /health, is isolated, and kill leaves nothing behind', needsSandboxHost, async (t) => {
  const h = await createHarness(t);
  const { endpoint, record } = await h.create();
  const id = endpoint.sandboxId;

  await t.test('envd answers /health on the sandbox address', async () => {
    const res = await fetch(`http://${endpoint.address}:${endpoint.envdPort}/health`);
    assert.equal(res.status, 204);
    assert.equal(endpoint.address, slotFor(record.slot).address);
  });

  await t.test('root inside is an unprivileged host id range', async () => {
    const { stdout } = await h.exec(id, 'cat /proc/self/uid_map /proc/self/gid_map');
    const lines = stdout
      .trim()
      .split('\n')
      .map((l) => l.trim().split(/\s+/).join(' '));
    assert.deepEqual(lines, [`0 ${record.uidBase} 65536`, `0 ${record.uidBase} 65536`]);
  });

  await t.test('host files are not visible', async (tt) => {
    const marker = path.join(os.tmpdir(), `sandboxd-host-marker-${process.pid}`);
    await fs.writeFile(marker, 'host secret');
    tt.after(() => fs.rm(marker, { force: true }));
    const { code } = await h.exec(id, `test -e ${marker}`);
    assert.notEqual(code, 0);
    const { stdout } = await h.exec(id, 'cat /proc/1/cmdline | tr "\\0" " "');
    assert.match(stdout, /^\/opt\/sandboxd\/init /);
  });

  await t.test('host processes are not visible', async () => {
    const { stdout } = await h.exec(id, 'ls /proc | grep -E "^[0-9]+$"');
    const pids = stdout.trim().split('\n').map(Number);
    // init, node (envd), and the probe's own shell; nothing from the host (which has hundreds).
    assert.ok(pids.length <= 5, `saw ${pids.length} pids: ${pids.join(',')}`);
    assert.ok(!pids.includes(process.pid) || process.pid <= 5);
  });

  await t.test('/sys is read-only and no host devices exist', async () => {
    const { code } = await h.exec(id, 'echo 1 > /sys/kernel/mm/ksm/run');
    assert.notEqual(code, 0);
    const { stdout } = await h.exec(id, 'ls /dev');
    assert.doesNotMatch(stdout, /\b(vda|sda|kvm|mem|kmsg|loop\d)\b/);
  });

  await t.test('seccomp and capabilities: no new namespaces, no mounts, no kernel keyring', async () => {
    assert.notEqual((await h.exec(id, 'unshare -U true')).code, 0, 'unshare(CLONE_NEWUSER) denied');
    assert.notEqual((await h.exec(id, 'mount -t tmpfs none /mnt')).code, 0, 'mount denied');
    const { stdout } = await h.exec(id, 'grep -E "^(CapEff|Seccomp):" /proc/self/status');
    assert.match(stdout, /Seccomp:\s+2/);
    assert.doesNotMatch(stdout, /CapEff:\s+000001ffffffffff/);
  });

  await t.test('passwordless sudo works for user (template base)', async (tt) => {
    const hasSudo = (await h.exec(id, 'test -x /usr/bin/sudo')).code === 0;
    if (!hasSudo) return tt.skip('template has no sudo (dev rootfs)');
    const { stdout, code } = await h.exec(id, 'sudo -n id -u', '1000:1000');
    assert.equal(code, 0);
    assert.equal(stdout.trim(), '0');
  });

  await t.test('list and stats see it', async () => {
    const listed = (await h.runtime.list()).find((s) => s.sandboxId === id);
    assert.equal(listed?.status, 'running');
    assert.equal(listed?.pid, endpoint.pid);
    const stats = await h.runtime.stats(id);
    assert.ok(stats && stats.memoryBytes > 0 && stats.pids >= 2);
    // What a memory pause would dump (issue #12): envd's heap, at most all the memory in use.
    assert.ok(
      stats.anonBytes && stats.anonBytes > 1024 * 1024 && stats.anonBytes <= stats.memoryBytes,
      `${stats.anonBytes}`,
    );
    const disk = await h.runtime.diskUsage(id);
    assert.ok(disk && disk.sizeBytes > disk.allocatedBytes && disk.allocatedBytes > 0, JSON.stringify(disk));
  });

  await t.test('kill removes process, mounts, veth, cgroups, loop, runc state and slot claim', async () => {
    await h.runtime.kill(id);
    await assertNothingLeft(h.stateDir, id, { pid: endpoint.pid, veth: record.veth });
    await h.runtime.kill(id); // idempotent
    assert.equal(await h.runtime.stats(id), undefined);
  });
});
