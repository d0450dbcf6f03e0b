// Tested e2e for issue #9 fix 2 (h/srv-proc): passed on main 3863ccb (1/1), failed before it (500).
// Its worktree was removed before it could land: copy to tests/e2e/kill-incomplete.test.ts.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { Sandbox } from 'e2b';
import { needsSandboxHost } from '../../packages/runtime/src/testing/host-requirements.js';
import { startTestServer, type TestServer } from '../support/server-harness.js';

/** The host mount point of a sandbox's root filesystem (the overlay under the run dir). */
function rootfsMount(sandboxId: string): string {
  const points = fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4] ?? '')
    .filter((point) => point.endsWith(`/${sandboxId}/rootfs`));
  assert.equal(points.length, 1, `one rootfs mount for ${sandboxId}: ${points.join(', ')}`);
  return points[0] as string;
}

describe('a kill whose teardown is blocked by a mount that will not go', needsSandboxHost, () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ env: { SANDBOXD_WARM_POOL: '0' } });
    server.useForE2b();
  });
  after(() => server?.stop());

  test('answers 503 KILL_INCOMPLETE with Retry-After, never 500; the next kill, unblocked, finishes it', async (t) => {
    const sbx = await Sandbox.create({ timeoutMs: 120_000 });
    // A host process whose working directory is inside the sandbox's rootfs: umount is EBUSY.
    const holder: ChildProcess = spawn('sleep', ['600'], { cwd: rootfsMount(sbx.sandboxId), stdio: 'ignore' });
    t.after(async () => {
      holder.kill('SIGKILL');
      await Sandbox.kill(sbx.sandboxId).catch(() => {});
    });

    const blocked = await server.api('DELETE', `/sandboxes/${sbx.sandboxId}`);
    const body = (await blocked.json()) as { code: number; message: string };
    assert.equal(blocked.status, 503, body.message);
    assert.equal(body.code, 503);
    assert.match(body.message, /teardown is incomplete.*kill it again/);
    assert.ok(Number(blocked.headers.get('retry-after')) >= 1, 'Retry-After says when to try again');
    assert.equal(await sbx.isRunning(), false, 'it no longer serves');

    const gone = new Promise((resolve) => holder.once('exit', resolve));
    holder.kill('SIGKILL');
    await gone;
    assert.equal(await Sandbox.kill(sbx.sandboxId), true, 'the second kill retries the teardown and succeeds');
    assert.equal(await Sandbox.kill(sbx.sandboxId), false, 'then it is gone (404)');
    const stillMounted = fs.readFileSync('/proc/self/mountinfo', 'utf8').includes(`/${sbx.sandboxId}/`);
    assert.equal(stillMounted, false, 'nothing of it is mounted');
  });
});
