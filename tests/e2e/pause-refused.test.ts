import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Sandbox, ServiceBusyError } from 'e2b';
import { needsSandboxHost } from '../../packages/runtime/src/testing/host-requirements.js';
import { startTestServer, type TestServer } from '../support/server-harness.js';
import { makeUnpausable } from '../support/unpausable.js';

// A sandbox that cannot be paused (tests/support/unpausable.ts): CRIU cannot dump it, whatever we retry.
describe('a pause that cannot be done', needsSandboxHost, () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ env: { SANDBOXD_WARM_POOL: '0' } });
    server.useForE2b();
  });
  after(() => server?.stop());

  test('answers 503 PAUSE_REFUSED with Retry-After; the sandbox runs on, reachable, files and processes intact', async (t) => {
    const sbx = await Sandbox.create({ timeoutMs: 120_000 });
    t.after(() => Sandbox.kill(sbx.sandboxId).catch(() => {}));
    await makeUnpausable(sbx);

    const res = await server.api('POST', `/sandboxes/${sbx.sandboxId}/pause`, {});
    assert.equal(res.status, 503);
    assert.ok(Number(res.headers.get('retry-after')) >= 1, 'Retry-After says when to try again');
    const body = (await res.json()) as { code: number; message: string };
    assert.equal(body.code, 503);
    assert.match(body.message, /could not be paused.*keeps running/);

    // The SDK reads it as ServiceBusyError ("a refused pause leaves the sandbox running").
    await assert.rejects(sbx.pause(), ServiceBusyError);
    assert.equal((await Sandbox.getInfo(sbx.sandboxId)).state, 'running');
    assert.equal(await sbx.isRunning(), true, 'routed again: envd answers through the proxy');
    assert.equal((await sbx.commands.run('cat /tmp/traced && echo ok')).stdout.endsWith('ok\n'), true);
    const ps = await sbx.commands.run("pgrep -f 'python3 /home/user/trace[r]' | wc -l");
    assert.equal(ps.stdout.trim(), '2', 'both processes still run (thawed, not killed)');
  });
});
