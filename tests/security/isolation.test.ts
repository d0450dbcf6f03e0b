import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { needsSandboxHost } from '@sandboxd/runtime/testing';
import { Sandbox } from 'e2b';
import { startTestServer, type TestServer } from '../support/server-harness.js';

const asRoot = { user: 'root' as const };

/** Runs a command as root in the sandbox and returns stdout, whatever the exit code. */
async function probe(sbx: Sandbox, cmd: string, timeoutMs = 30_000): Promise<{ stdout: string; exitCode: number }> {
  try {
    const r = await sbx.commands.run(cmd, { ...asRoot, timeoutMs });
    return { stdout: r.stdout, exitCode: r.exitCode };
  } catch (err) {
    const e = err as { stdout?: string; exitCode?: number };
    if (typeof e.exitCode === 'number') return { stdout: e.stdout ?? '', exitCode: e.exitCode };
    throw err;
  }
}

// Issue #2: root inside a sandbox is not root on the host and reaches nothing outside it.
describe('sandbox isolation', needsSandboxHost, () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ env: { SANDBOXD_SANDBOX_PIDS: '128', SANDBOXD_SANDBOX_MEMORY_MIB: '256' } });
    server.useForE2b();
  });
  after(() => server?.stop());

  test('root inside maps to an unprivileged host uid range', async (t) => {
    const sbx = await Sandbox.create();
    t.after(() => sbx.kill());
    const { stdout } = await probe(sbx, 'id -u; cat /proc/self/uid_map; cat /proc/self/gid_map');
    const [uid, uidMap, gidMap] = stdout
      .trim()
      .split('\n')
      .map((l) => l.trim().split(/\s+/));
    assert.deepEqual(uid, ['0']);
    assert.equal(uidMap?.[0], '0');
    assert.ok(Number(uidMap?.[1]) >= 100_000, `container root is host uid ${uidMap?.[1]}`);
    assert.equal(uidMap?.[2], '65536');
    assert.deepEqual(gidMap, uidMap);
  });

  test('cannot see host files or host processes', async (t) => {
    const marker = `/tmp/sandboxd-host-marker-${randomBytes(6).toString('hex')}`;
    fs.writeFileSync(marker, 'host secret');
    t.after(() => fs.rmSync(marker, { force: true }));
    const sbx = await Sandbox.create();
    t.after(() => sbx.kill());
    assert.notEqual((await probe(sbx, `cat ${marker}`)).exitCode, 0, 'host marker file is invisible');
    const dbVisible = await probe(sbx, `ls ${server.dataDir}`);
    assert.notEqual(dbVisible.exitCode, 0, "the server's data directory is invisible");
    const ps = await probe(sbx, 'ps -eo pid=,comm=');
    const procs = ps.stdout.trim().split('\n');
    assert.ok(procs.length < 10, `only the sandbox's own processes are visible:\n${ps.stdout}`);
    const pid1 = await probe(sbx, 'cat /proc/1/comm');
    assert.match(pid1.stdout, /tini|init/);
  });

  test('no privileged escape hatches: no mounts, no raw devices, read-only /sys', async (t) => {
    const sbx = await Sandbox.create();
    t.after(() => sbx.kill());
    assert.notEqual((await probe(sbx, 'mount -t tmpfs none /mnt')).exitCode, 0, 'mount is denied');
    assert.notEqual((await probe(sbx, 'ls /dev/vda /dev/sda /dev/mem 2>&1')).exitCode, 0, 'no host block devices');
    assert.notEqual((await probe(sbx, 'echo 1 > /sys/kernel/mm/ksm/run')).exitCode, 0, '/sys is read-only');
    assert.equal(
      (await probe(sbx, 'head -c 16 /proc/kcore 2>/dev/null | wc -c')).stdout.trim(),
      '0',
      '/proc/kcore is masked',
    );
  });

  test('memory limit: an allocation past it is OOM-killed inside, the sandbox lives on', async (t) => {
    const sbx = await Sandbox.create();
    t.after(() => sbx.kill());
    const hog = await probe(sbx, "python3 -c 'x = bytearray(512 * 1024 * 1024); print(len(x))'", 60_000);
    assert.notEqual(hog.exitCode, 0, 'the hog was killed');
    assert.equal((await sbx.commands.run('echo alive')).stdout, 'alive\n');
  });

  test('pids limit: a fork storm fails inside, the sandbox lives on', async (t) => {
    const sbx = await Sandbox.create();
    t.after(() => sbx.kill());
    const storm = await probe(
      sbx,
      `python3 -c '
import os, time
n = 0
try:
    for _ in range(1000):
        if os.fork() == 0:
            time.sleep(30); os._exit(0)
        n += 1
except OSError as e:
    print("failed after", n, e.errno)
'; pkill -f "time.sleep" || true`,
      60_000,
    );
    const m = /failed after (\d+)/.exec(storm.stdout);
    assert.ok(m, `fork failed: ${storm.stdout}`);
    assert.ok(Number(m[1]) < 128, `stopped below the pids limit (${m[1]})`);
    await probe(sbx, 'pkill -9 python3; true');
    assert.equal((await sbx.commands.run('echo alive')).stdout, 'alive\n');
  });

  test('cannot reach another sandbox or the host', async (t) => {
    const a = await Sandbox.create();
    t.after(() => a.kill());
    const b = await Sandbox.create();
    t.after(() => b.kill());
    const addrOf = async (s: Sandbox) =>
      (await probe(s, "ip -4 -o addr show eth0 | awk '{print $4}' | cut -d/ -f1")).stdout.trim();
    const bAddr = await addrOf(b);
    const aAddr = await addrOf(a);
    assert.match(bAddr, /^\d+\.\d+\.\d+\.\d+$/);
    // Even root adding a route via the host gets nowhere: the host forwards nothing for sandboxes.
    const gw = aAddr.replace(/\.\d+$/, (last) => `.${Number(last.slice(1)) - 1}`);
    await probe(a, `ip route add default via ${gw} 2>/dev/null; true`);
    const toB = await probe(a, `curl -s -m 3 -o /dev/null -w '%{http_code}' http://${bAddr}:49983/health`);
    assert.notEqual(toB.stdout, '204', 'sandbox A must not reach sandbox B');
    const port = new URL(server.url).port;
    const toHost = await probe(a, `curl -s -m 3 -o /dev/null -w '%{http_code}' http://${gw}:${port}/health`);
    assert.notEqual(toHost.stdout, '200', 'sandbox must not reach the control plane on the host');
  });
});
