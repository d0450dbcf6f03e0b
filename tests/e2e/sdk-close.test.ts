import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { needsSandboxHost } from '@sandboxd/runtime/testing';
import { Sandbox } from '@sandboxd/sdk';
import { startTestServer, type TestServer } from '../support/server-harness.js';

describe('@sandboxd/sdk close(): SIGTERM, grace, kill; idempotent', needsSandboxHost, () => {
  let server: TestServer;
  let opts: { apiUrl: string; apiKey: string };
  before(async () => {
    server = await startTestServer();
    opts = { apiUrl: server.url, apiKey: server.apiKey };
  });
  after(() => server?.stop());

  test('running commands get SIGTERM (a trap runs and exits 0; one without a trap ends by it), then the sandbox is closed', async (t) => {
    const sbx = await Sandbox.create(opts);
    t.after(() => sbx.kill().catch(() => undefined));
    let out = '';
    const handle = await sbx.commands.run(
      "trap 'echo got-term; exit 0' TERM; echo ready; while true; do sleep 0.1; done",
      {
        background: true,
        onStdout: (d) => {
          out += d;
        },
      },
    );
    const child = await sbx.commands.run('sleep 1000', { background: true });
    for (let i = 0; i < 100 && !out.includes('ready'); i++) await new Promise((r) => setTimeout(r, 20));
    assert.ok(out.includes('ready'));

    await Promise.all([sbx.close({ graceMs: 5000 }), sbx.close()]);
    const result = await handle.wait();
    assert.equal(result.exitCode, 0, 'the trap ended it cleanly');
    assert.match(out, /got-term/);
    await assert.rejects(child.wait(), (err: unknown) => {
      assert.match(String((err as { error?: string }).error ?? err), /terminated|SIGTERM/);
      return true;
    });
    assert.equal(await sbx.getStatus(), 'closed');
    await sbx.close(); // idempotent: resolves again
  });

  test('a command that ignores SIGTERM is killed with the sandbox after the grace period; close of a gone sandbox resolves', async (t) => {
    const sbx = await Sandbox.create(opts);
    t.after(() => sbx.kill().catch(() => undefined));
    await sbx.commands.run("trap '' TERM; sleep 1000", { background: true });
    await sbx.close({ graceMs: 300 });
    assert.equal(await sbx.getStatus(), 'closed');

    const other = await Sandbox.create(opts);
    assert.equal(await other.kill(), true);
    await other.close();
    assert.equal(await other.getStatus(), 'closed');
  });

  test('a paused sandbox is closed without being resumed', async (t) => {
    const sbx = await Sandbox.create(opts);
    t.after(() => sbx.kill().catch(() => undefined));
    assert.equal(await sbx.pause(), true);
    await sbx.close();
    assert.equal(await sbx.getStatus(), 'closed');
    const res = await server.api('GET', `/sandboxes/${sbx.id}/events?since=0`);
    const types = ((await res.json()) as Array<{ type: string }>).map((e) => e.type);
    assert.ok(!types.includes('resuming'), `no resume on the way to the kill: ${types.join(',')}`);
    assert.equal(types.at(-1), 'killed');
  });
});
