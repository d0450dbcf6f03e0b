import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { newSandboxId, SandboxdError } from '@sandboxd/common';
import { sandboxCgroupDirs } from '../cgroups/cgroup-v1.js';
import { vethExists } from '../netns/veth.js';
import { listLoopDevices, listMountPoints } from '../process/mounts.js';
import { RuncRuntime } from '../runc/runc-runtime.js';
import { sandboxPaths } from '../runc/sandbox-paths.js';
import type { SandboxEndpoint } from '../runtime.js';
import { defaultSlotsDir } from '../slots/slot-claims.js';
import { needsSandboxHost } from '../testing/host-requirements.js';
import {
  assertNothingLeft,
  createHarness,
  envdCall,
  envdState,
  faultInjector,
  type Harness,
} from '../testing/runtime-fixture.js';

/** Real runc + real CRIU (the build `sandboxd setup` installs). Each test kills what it made, even on failure. */

const isCode = (code: string) => (err: unknown) => SandboxdError.is(err) && err.code === code;

async function sh(h: Harness, id: string, script: string): Promise<string> {
  const { code, stdout, stderr } = await h.exec(id, script);
  assert.equal(code, 0, `${script}: ${stderr}`);
  return stdout.trim();
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 10_000): Promise<T> {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(50)) {
    const value = await probe();
    if (value !== undefined) return value;
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** GET over one keep-alive connection; the local port tells whether the same TCP connection served it. */
function getKeepAlive(agent: http.Agent, endpoint: SandboxEndpoint): Promise<{ status: number; localPort: number }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: endpoint.address, port: endpoint.envdPort, path: '/health', agent }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, localPort: req.socket?.localPort ?? 0 }));
    });
    req.on('error', reject);
  });
}

/** What a paused sandbox must not hold: mounts, loop devices, cgroups, a veth. */
async function assertReleased(h: Harness, id: string, veth: string, runDir = '/run/sandboxd'): Promise<void> {
  const paths = sandboxPaths(h.stateDir, runDir, id);
  const mounts = (await listMountPoints()).filter((m) => m.startsWith(`${paths.mountDir}/`));
  assert.deepEqual(mounts, [], 'no mounts while paused');
  assert.deepEqual(
    (await listLoopDevices()).filter((l) => l.backingFile === paths.diskImage),
    [],
    'no loop device while paused',
  );
  assert.deepEqual(await sandboxCgroupDirs(id), [], 'no cgroups while paused');
  assert.equal(await vethExists(veth), false, 'no veth while paused');
  assert.equal(await h.runtime.stats(id), undefined);
}

const holderScript = `import hashlib, os, signal
data = os.urandom(16 << 20)
digest = lambda: f"{os.getpid()} {hashlib.sha256(data).hexdigest()}"
signal.signal(signal.SIGUSR1, lambda *_: open("/tmp/mem.after", "w").write(digest()))
open("/tmp/mem.before", "w").write(digest())
while True:
    signal.pause()
`;

test('a memory pause keeps pids, memory, files, connections and inotify watches', needsSandboxHost, async (t) => {
  const h = await createHarness(t);
  const { endpoint, record } = await h.create();
  const id = endpoint.sandboxId;

  await sh(h, id, `cat > /tmp/holder.py <<'EOF'\n${holderScript}EOF`);
  await envdCall(endpoint, '/spawn', { cmd: 'exec python3 /tmp/holder.py' });
  const memBefore = await until('the holder to start', async () => {
    const { code, stdout } = await h.exec(id, 'cat /tmp/mem.before');
    return code === 0 && stdout.includes(' ') ? stdout : undefined;
  });
  // A held file lock (apt, dpkg, sqlite do this): the dump needs --file-locks, the lock must survive.
  await envdCall(endpoint, '/spawn', { cmd: 'exec flock /tmp/app.lock sleep 100000' });
  await until('the lock to be held', async () =>
    (await h.exec(id, 'flock -n /tmp/app.lock true')).code !== 0 ? true : undefined,
  );
  await envdCall(endpoint, '/watch', { dir: '/tmp/watched' });
  await sh(h, id, 'touch /tmp/watched/one');
  const fileSum = await sh(h, id, 'head -c 1048576 /dev/urandom > /root/data.bin && sha256sum /root/data.bin');
  const before = await until('the inotify event', async () => {
    const s = await envdState(endpoint);
    return s.events > 0 ? s : undefined;
  });
  // No TCP keep-alive probes (the agent's default starts them after 1 s idle): what is checked is
  // that the dumped connection comes back, not how the host's probes fare while the sandbox is away.
  const agent = new http.Agent({ keepAlive: true, keepAliveMsecs: 600_000, maxSockets: 1 });
  t.after(() => agent.destroy());
  const first = await getKeepAlive(agent, endpoint);

  const paused = await h.runtime.pause(id);
  assert.equal(paused.memory, true);
  assert.ok(paused.imageBytes > 16 << 20, `images hold the 16 MiB heap (${paused.imageBytes} bytes)`);
  await assertReleased(h, id, record.veth);
  const listed = (await h.runtime.list()).find((s) => s.sandboxId === id);
  assert.equal(listed?.status, 'paused');
  assert.equal(listed?.paused?.memory, true);
  await assert.rejects(h.runtime.pause(id), isCode('INVALID_TRANSITION'));

  const resumed = await h.runtime.resume(id);
  assert.equal(resumed.address, endpoint.address);
  const after = await envdState(resumed);
  assert.equal(after.pid, before.pid, 'envd has the same pid');
  assert.equal(after.secret, before.secret, 'envd has the same memory');
  assert.equal(after.hits, before.hits + 1, 'its counter went on from where it was');
  const again = await getKeepAlive(agent, resumed);
  assert.equal(again.status, 204);
  assert.equal(again.localPort, first.localPort, 'the same keep-alive TCP connection answered');

  const [holderPid] = memBefore.split(' ');
  await sh(h, id, `kill -USR1 ${holderPid}`);
  const memAfter = await until('the holder to answer', async () => {
    const { code, stdout } = await h.exec(id, 'cat /tmp/mem.after');
    return code === 0 && stdout ? stdout : undefined;
  });
  assert.equal(memAfter, memBefore, 'a child keeps its pid and its 16 MiB of memory');
  assert.equal(await sh(h, id, 'sha256sum /root/data.bin'), fileSum, 'files written before pause are intact');
  assert.notEqual((await h.exec(id, 'flock -n /tmp/app.lock true')).code, 0, 'the file lock is still held');
  await sh(h, id, 'touch /tmp/watched/two');
  await until('an inotify event after resume', async () => {
    const s = await envdState(resumed);
    return s.events > before.events ? s : undefined;
  });
  await assert.rejects(h.runtime.resume(id), isCode('INVALID_TRANSITION'));
  assert.equal(await fs.stat(sandboxPaths(h.stateDir, '/run/sandboxd', id).images).catch(() => undefined), undefined);
});

test('a filesystem-only pause keeps the disk and cold-starts on resume', needsSandboxHost, async (t) => {
  const h = await createHarness(t);
  const { endpoint, record } = await h.create();
  const id = endpoint.sandboxId;
  const fileSum = await sh(
    h,
    id,
    'echo kept > /root/note && mkdir -p /home/x && cp /root/note /home/x/ && sha256sum /root/note /home/x/note',
  );
  const before = await envdState(endpoint);

  const paused = await h.runtime.pause(id, { memory: false });
  assert.deepEqual([paused.memory, paused.imageBytes], [false, 0]);
  await assertReleased(h, id, record.veth);
  assert.equal(await fs.stat(sandboxPaths(h.stateDir, '/run/sandboxd', id).images).catch(() => undefined), undefined);
  assert.equal((await h.runtime.list()).find((s) => s.sandboxId === id)?.status, 'paused');

  const resumed = await h.runtime.resume(id);
  const after = await envdState(resumed);
  assert.notEqual(after.secret, before.secret, 'envd booted afresh');
  assert.equal(after.hits, 1);
  assert.equal(await sh(h, id, 'sha256sum /root/note /home/x/note'), fileSum, 'files kept');
});

test('kill of a paused sandbox removes its images, disk, mounts, loop device and slot', needsSandboxHost, async (t) => {
  const h = await createHarness(t);
  const { endpoint, record } = await h.create();
  await h.runtime.pause(endpoint.sandboxId);
  assert.ok(await fs.stat(sandboxPaths(h.stateDir, '/run/sandboxd', endpoint.sandboxId).images));
  await h.runtime.kill(endpoint.sandboxId);
  await assertNothingLeft(h.stateDir, endpoint.sandboxId, { veth: record.veth });
  await assert.rejects(h.runtime.resume(endpoint.sandboxId), isCode('SANDBOX_NOT_FOUND'));
  await assert.rejects(h.runtime.pause(newSandboxId()), isCode('SANDBOX_NOT_FOUND'));
});

test('20 pause/resume cycles lose no file and no memory', needsSandboxHost, async (t) => {
  const h = await createHarness(t);
  const { endpoint } = await h.create();
  const id = endpoint.sandboxId;
  let last = await envdState(endpoint);
  const sums: string[] = [];
  for (let cycle = 0; cycle < 20; cycle++) {
    sums.push(await sh(h, id, `head -c 65536 /dev/urandom > /root/f${cycle} && sha256sum /root/f${cycle}`));
    const resumed = await (async () => {
      await h.runtime.pause(id);
      return h.runtime.resume(id);
    })();
    const state = await envdState(resumed);
    assert.equal(state.secret, last.secret, `cycle ${cycle}: same memory`);
    assert.equal(state.pid, last.pid, `cycle ${cycle}: same pid`);
    // Exactly one more: the restored memory is the latest dump, never an older one.
    assert.equal(state.hits, last.hits + 1, `cycle ${cycle}: counter went on by one`);
    last = state;
    const all = await sh(h, id, `cd /root && sha256sum ${sums.map((_, i) => `f${i}`).join(' ')}`);
    assert.deepEqual(
      all.split('\n').map((l) => l.split(/\s+/)[0]),
      sums.map((l) => l.split(/\s+/)[0]),
      `cycle ${cycle}: every file intact`,
    );
  }
});

test(
  'a paused sandbox resumes after a simulated reboot that wiped all but the data dir',
  needsSandboxHost,
  async (t) => {
    // Its own run dir, so wiping it (as a reboot wipes /run) touches no other sandbox on the machine.
    const runDir = await fs.mkdtemp('/run/sandboxd-reboot-');
    const h = await createHarness(t, { runDir });
    const { endpoint, record } = await h.create();
    const id = endpoint.sandboxId;
    const fileSum = await sh(h, id, 'head -c 200000 /dev/urandom > /root/keep && sha256sum /root/keep');
    const before = await envdState(endpoint);
    await h.runtime.pause(id);
    await assertReleased(h, id, record.veth, runDir);

    // The "reboot": run dir (mount points, staged envd), slot claim and runc's state all gone.
    await fs.rm(runDir, { recursive: true, force: true });
    await fs.rm(path.join(defaultSlotsDir, String(record.slot)), { force: true });
    await fs.rm(path.join(h.stateDir, 'runc'), { recursive: true, force: true });

    const rebooted = new RuncRuntime(h.options);
    await rebooted.init();
    assert.deepEqual(
      (await rebooted.list()).map((s) => [s.sandboxId, s.status]),
      [[id, 'paused']],
    );
    const resumed = await rebooted.resume(id);
    const after = await envdState(resumed);
    assert.deepEqual([after.pid, after.secret, after.hits], [before.pid, before.secret, before.hits + 1]);
    assert.equal(await sh(h, id, 'sha256sum /root/keep'), fileSum);
    await rebooted.kill(id);
    await assertNothingLeft(h.stateDir, id, { veth: record.veth, runDir });
  },
);

test('a failed dump leaves the sandbox running; a failed restore leaves it paused', needsSandboxHost, async (t) => {
  const faults = faultInjector();
  const h = await createHarness(t, { beforeStep: faults.beforeStep });
  const { endpoint, record } = await h.create();
  const id = endpoint.sandboxId;
  const before = await envdState(endpoint);

  faults.failNext('pause:checkpoint');
  await assert.rejects(h.runtime.pause(id), isCode('PAUSE_REFUSED'));
  const running = await envdState(endpoint); // answers: thawed, not left frozen
  assert.equal(running.secret, before.secret);
  assert.equal((await h.runtime.list()).find((s) => s.sandboxId === id)?.status, 'running');

  await h.runtime.pause(id);
  for (const step of ['resume:restore', 'resume:health']) {
    faults.failNext(step);
    await assert.rejects(h.runtime.resume(id), /injected failure|resuming sandbox/);
    assert.equal((await h.runtime.list()).find((s) => s.sandboxId === id)?.status, 'paused', `paused after ${step}`);
    await assertReleased(h, id, record.veth);
  }
  const resumed = await h.runtime.resume(id);
  const after = await envdState(resumed);
  assert.equal(after.secret, before.secret, 'the images survived the failed attempts');
});

test('sweep keeps the paused sandboxes it is told to keep and deletes the others', needsSandboxHost, async (t) => {
  const h = await createHarness(t);
  const [kept, dropped] = await Promise.all([h.create(), h.create()]);
  await h.runtime.pause(kept.endpoint.sandboxId);
  await h.runtime.pause(dropped.endpoint.sandboxId);
  const restarted = new RuncRuntime(h.options);
  const swept = await restarted.sweep(new Set([kept.endpoint.sandboxId]));
  assert.deepEqual(swept, [dropped.endpoint.sandboxId]);
  await assertNothingLeft(h.stateDir, dropped.endpoint.sandboxId, { veth: dropped.record.veth });
  const resumed = await restarted.resume(kept.endpoint.sandboxId);
  assert.equal((await fetch(`http://${resumed.address}:${resumed.envdPort}/health`)).status, 204);
});

test('resume with memory: false boots a memory-paused sandbox afresh from its disk', needsSandboxHost, async (t) => {
  const h = await createHarness(t);
  const { endpoint } = await h.create();
  const id = endpoint.sandboxId;
  const fileSum = await sh(h, id, 'echo on-disk > /root/note && sha256sum /root/note');
  const before = await envdState(endpoint);
  await h.runtime.pause(id);
  const resumed = await h.runtime.resume(id, { memory: false });
  const after = await envdState(resumed);
  assert.notEqual(after.secret, before.secret, 'cold start, not a restore');
  assert.equal(await sh(h, id, 'sha256sum /root/note'), fileSum);
  assert.equal(await fs.stat(sandboxPaths(h.stateDir, '/run/sandboxd', id).images).catch(() => undefined), undefined);
});

test('one pause or resume at a time per sandbox; kill waits for the one in flight', needsSandboxHost, async (t) => {
  const h = await createHarness(t);
  const { endpoint, record } = await h.create();
  const id = endpoint.sandboxId;
  const pausing = h.runtime.pause(id);
  await assert.rejects(h.runtime.pause(id), isCode('INVALID_TRANSITION'));
  await assert.rejects(h.runtime.resume(id), isCode('INVALID_TRANSITION'));
  const killing = h.runtime.kill(id);
  assert.equal((await pausing).memory, true);
  await killing;
  await assertNothingLeft(h.stateDir, id, { veth: record.veth });
});

test('a resume that crashed before its commit is finished by the next resume or pause', needsSandboxHost, async (t) => {
  const h = await createHarness(t);
  const { endpoint } = await h.create();
  const id = endpoint.sandboxId;
  const paths = sandboxPaths(h.stateDir, '/run/sandboxd', id);
  const before = await envdState(endpoint);
  const paused = await h.runtime.pause(id);
  await h.runtime.resume(id);
  // As if the process died between `runc restore` and removing pause.json: the record and images are back.
  await fs.writeFile(paths.pauseRecord, JSON.stringify(paused));
  await fs.mkdir(paths.images);
  assert.equal((await h.runtime.list()).find((s) => s.sandboxId === id)?.status, 'running', 'the container wins');
  const resumed = await h.runtime.resume(id);
  assert.equal((await envdState(resumed)).secret, before.secret, 'the running sandbox was left alone');
  assert.equal(await fs.stat(paths.pauseRecord).catch(() => undefined), undefined);
  assert.equal(await fs.stat(paths.images).catch(() => undefined), undefined);

  await fs.writeFile(paths.pauseRecord, JSON.stringify(paused));
  const again = await h.runtime.pause(id);
  assert.equal(again.memory, true, 'pause discards the stale record and pauses');
  assert.equal((await envdState(await h.runtime.resume(id))).secret, before.secret);
});
