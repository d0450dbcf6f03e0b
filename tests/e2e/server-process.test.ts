import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { Sandbox } from 'e2b';
import { needsSandboxHost } from '../../packages/runtime/src/testing/host-requirements.js';
import { lockDataDir } from '../../packages/server/src/data-dir-lock.js';
import { runcContainers, settledHostResources } from '../support/host-resources.js';
import { removeDataDir, spawnServerProcess, startTestServer } from '../support/server-harness.js';

const slotsDir = '/var/lib/sandboxd/slots';

/** Every sandbox id a server's logs mention (the runtime logs each create and its rollback). */
function sandboxIdsIn(logs: string[]): string[] {
  const ids = new Set<string>();
  for (const line of logs) for (const m of line.matchAll(/"sandboxId":"([a-z0-9]+)"/g)) if (m[1]) ids.add(m[1]);
  return [...ids];
}

/** Slot claims (address, uid range, veth) still held for sandboxes of this data directory. */
function slotClaimsOf(dataDir: string): string[] {
  const claims: string[] = [];
  for (const name of fs.existsSync(slotsDir) ? fs.readdirSync(slotsDir) : []) {
    try {
      const claim = JSON.parse(fs.readFileSync(path.join(slotsDir, name), 'utf8')) as { stateDir?: string };
      if (claim.stateDir?.startsWith(`${dataDir}/`)) claims.push(name);
    } catch {
      // Released while we read it, or a temporary file.
    }
  }
  return claims;
}

function tempDataDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'sandboxd-test-'));
}

describe('start-up and shutdown of the server process', needsSandboxHost, () => {
  test('a second server on the same data directory refuses to start and leaves the first alone', {
    timeout: 180_000,
  }, async (t) => {
    const first = await startTestServer({ env: { SANDBOXD_WARM_POOL: '1' } });
    t.after(() => first.stop());
    first.useForE2b();
    const sandbox = await Sandbox.create({ timeoutMs: 300_000 });
    await sandbox.files.write('/home/user/mine.txt', 'first');
    const containersBefore = runcContainers(first.dataDir).sort();
    assert.ok(containersBefore.includes(sandbox.sandboxId));

    const second = spawnServerProcess({
      dataDir: first.dataDir,
      apiKey: first.apiKey,
      env: { SANDBOXD_WARM_POOL: '2' },
    });
    const code = await second.exited;
    const stderr = second.logs.join('\n');
    assert.equal(code, 1, `the second server exits 1 (stderr: ${stderr})`);
    assert.match(stderr, /another sandboxd server \(pid \d+\) is using the data directory/);
    assert.ok(stderr.includes(`pid ${first.process.pid}`), 'the message names the server that holds it');
    assert.ok(!stderr.includes('reconciled'), 'the second server never reconciled');
    assert.doesNotMatch(second.stdout(), /serving on/);

    assert.deepEqual(runcContainers(first.dataDir).sort(), containersBefore, 'no container was swept or added');
    assert.equal((await sandbox.commands.run('cat /home/user/mine.txt')).stdout, 'first');
    const health = await fetch(`${first.url}/health`);
    assert.equal(health.status, 200, 'the first server keeps serving');
    await sandbox.kill();
  });

  test('a start-up that cannot listen undoes everything, exits non-zero, and never filled the pool', {
    timeout: 120_000,
  }, async (t) => {
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    t.after(() => taken.close());
    const port = (taken.address() as net.AddressInfo).port;
    const dataDir = tempDataDir();
    t.after(() => removeDataDir(dataDir));

    const server = spawnServerProcess({ dataDir, port, env: { SANDBOXD_WARM_POOL: '2' } });
    const code = await server.exited;
    const stderr = server.logs.join('\n');
    assert.equal(code, 1, `exit code (stderr: ${stderr})`);
    assert.match(stderr, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: the address is already in use`));
    assert.ok(!stderr.includes('"sandbox created"'), 'no pool sandbox was started before listening');
    assert.deepEqual(runcContainers(dataDir), []);
    assert.deepEqual(slotClaimsOf(dataDir), []);
    // The lock went with it: the data directory can be taken at once.
    lockDataDir(dataDir).release();
  });

  test('SIGTERM (twice) at any moment of start-up leaves no sandbox, mount, cgroup or claim behind', {
    timeout: 600_000,
  }, async (t) => {
    // Spread over the whole start-up: module loading, reconcile, listening, the pool filling.
    const runs = 8;
    const spanMs = 6_000;
    for (let run = 0; run < runs; run++) {
      const delayMs = Math.round(((run + Math.random()) * spanMs) / runs);
      const dataDir = tempDataDir();
      t.after(() => removeDataDir(dataDir));
      const server = spawnServerProcess({ dataDir, env: { SANDBOXD_WARM_POOL: '2' } });
      const claimed = new Set<string>();
      const watch = setInterval(() => {
        for (const c of slotClaimsOf(dataDir)) claimed.add(c);
      }, 50);
      await new Promise((r) => setTimeout(r, delayMs));
      server.process.kill('SIGTERM');
      // An impatient second signal (a double Ctrl-C) must not cut the shutdown short.
      const again = setTimeout(() => {
        if (server.process.exitCode === null && server.process.signalCode === null) server.process.kill('SIGTERM');
      }, 150);
      const code = await server.exited;
      clearTimeout(again);
      clearInterval(watch);
      const what = `run ${run}, SIGTERM after ${delayMs} ms (exit ${code})`;
      // Before the CLI's handler exists the signal simply ends a process that has started nothing.
      assert.ok(code === 0 || code === 'SIGTERM', `${what}: a clean exit\n${server.logs.join('\n')}`);
      const ids = sandboxIdsIn(server.logs);
      t.diagnostic(`${what}: ${ids.length} pool sandbox(es) seen`);
      assert.deepEqual(runcContainers(dataDir), [], `${what}: no container`);
      const left = await settledHostResources(dataDir, ids);
      // Without ids the snapshot counts every server's sandboxes (other tests' too): only ours matter.
      if (ids.length > 0) assert.deepEqual(left.processes, [], `${what}: no sandbox process`);
      assert.deepEqual(left.mounts, [], `${what}: no mount`);
      assert.deepEqual(left.loopDevices, [], `${what}: no loop device`);
      assert.deepEqual(
        left.cgroups.filter((c) => ids.some((id) => c.endsWith(id))),
        [],
        `${what}: no cgroup`,
      );
      assert.deepEqual(slotClaimsOf(dataDir), [], `${what}: no slot claim`);
      const vethsLeft = left.veths.filter((v) => [...claimed].some((index) => v === `sbxv${index}`));
      assert.deepEqual(
        vethsLeft.filter((v) => !fs.existsSync(path.join(slotsDir, v.slice('sbxv'.length)))),
        [],
        `${what}: no veth`,
      );
      const stateDirs = path.join(dataDir, 'runtime', 'sandboxes');
      assert.deepEqual(fs.existsSync(stateDirs) ? fs.readdirSync(stateDirs) : [], [], `${what}: no state dir`);
    }
  });
});
