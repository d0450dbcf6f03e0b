import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { Sandbox } from 'e2b';
import { hostResources, settledHostResources } from '../support/host-resources.js';
import { startTestServer } from '../support/server-harness.js';

// Issue #2: teardown leaves no process, mount, netns, veth, cgroup or loop device behind.
// These count host resources exactly, so the warm pool (which keeps sandboxes of its own) is off;
// warm-pool.test.ts covers the pool's own teardown.
test('killing 50 sandboxes in a row leaves nothing behind', { timeout: 600_000 }, async (t) => {
  const server = await startTestServer({ env: { SANDBOXD_WARM_POOL: '0' } });
  t.after(() => server.stop());
  server.useForE2b();
  const before = hostResources(server.dataDir);

  const sandboxes: Sandbox[] = [];
  for (let i = 0; i < 50; i++) sandboxes.push(await Sandbox.create({ timeoutMs: 600_000 }));
  const ids = sandboxes.map((s) => s.sandboxId);
  const during = hostResources(server.dataDir, ids);
  assert.ok(during.processes.length >= 50, `50 sandboxes have processes (${during.processes.length})`);
  assert.ok(during.mounts.length >= 50, `50 sandboxes have mounts (${during.mounts.length})`);

  for (const sbx of sandboxes) assert.equal(await Sandbox.kill(sbx.sandboxId), true);

  // A killed sandbox's init is reparented to the host's PID 1 (runc run -d exits), which reaps it
  // at its own pace; give it a bounded moment, then require that nothing at all is left.
  const afterKill = await settledHostResources(server.dataDir, ids);
  assert.deepEqual(afterKill.processes, [], 'no sandbox process survives');
  assert.deepEqual(afterKill.netns, [], 'no sandbox network namespace survives');
  assert.deepEqual(afterKill.mounts, [], 'no mount survives');
  assert.deepEqual(afterKill.loopDevices, [], 'no loop device survives');
  assert.deepEqual(
    afterKill.cgroups.filter((c) => ids.some((id) => c.endsWith(id))),
    [],
    'no cgroup survives',
  );
  assert.deepEqual(afterKill.veths.sort(), before.veths.sort(), 'no veth survives');
  const runcRoot = path.join(server.dataDir, 'runtime', 'runc');
  const runcList = execFileSync('runc', ['--root', runcRoot, 'list', '-q'], { stdio: ['ignore', 'pipe', 'ignore'] })
    .toString()
    .trim();
  assert.equal(runcList, '', 'runc knows no container');
});

test('a restart re-adopts running sandboxes and sweeps orphans left by a crash', { timeout: 300_000 }, async (t) => {
  const first = await startTestServer({ env: { SANDBOXD_WARM_POOL: '0' } });
  // Whichever server holds the data directory last cleans it up.
  let second: Awaited<ReturnType<typeof startTestServer>> | undefined;
  t.after(() => (second ?? first).stop());
  first.useForE2b();
  const keep = await Sandbox.create({ timeoutMs: 600_000 });
  const orphan = await Sandbox.create({ timeoutMs: 600_000 });
  await keep.files.write('/home/user/state.txt', 'kept');

  // Crash: SIGKILL, then forget the orphan's row as if the crash hit before it was committed.
  await first.halt('SIGKILL');
  const db = path.join(first.dataDir, 'sandboxd.db');
  execFileSync(process.execPath, [
    '-e',
    `const D=require('better-sqlite3'); const d=new D(${JSON.stringify(db)}); d.prepare('DELETE FROM sandboxes WHERE id=?').run(${JSON.stringify(orphan.sandboxId)}); d.close();`,
  ]);

  second = await startTestServer({
    reuseDataDir: first.dataDir,
    apiKey: first.apiKey,
    env: { SANDBOXD_WARM_POOL: '0' },
  });
  second.useForE2b();

  const again = await Sandbox.connect(keep.sandboxId);
  assert.equal(await again.files.read('/home/user/state.txt'), 'kept');
  assert.equal((await again.commands.run('echo still here')).stdout, 'still here\n');
  const left = await settledHostResources(first.dataDir, [orphan.sandboxId]);
  assert.deepEqual(left.processes, [], 'the orphan was swept at start-up');
  assert.ok(!left.mounts.some((m) => m.includes(orphan.sandboxId)), 'the orphan has no mounts left');
});
