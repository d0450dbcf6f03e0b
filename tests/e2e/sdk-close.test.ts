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

  test('a daemon that envd does not track (setsid, parent gone) gets SIGTERM too; the kill is recorded as a close', async (t) => {
    const sbx = await Sandbox.create(opts);
    t.after(() => sbx.kill().catch(() => undefined));
    // The daemon's TERM trap writes to a log that a command ignoring SIGTERM (inherited SIG_IGN
    // survives exec) follows, so what the daemon did during the grace period is seen from here.
    await sbx.files.write('/tmp/daemon.log', '');
    let log = '';
    await sbx.commands.run("trap '' TERM; exec tail -n +1 -F -s 0.05 /tmp/daemon.log", {
      background: true,
      onStdout: (d) => {
        log += d;
      },
    });
    await sbx.commands.run(
      `setsid sh -c 'trap "echo daemon-got-term >> /tmp/daemon.log; exit 0" TERM; echo daemon-up >> /tmp/daemon.log; while true; do sleep 0.1; done' > /dev/null 2>&1 < /dev/null &`,
    );
    for (let i = 0; i < 200 && !log.includes('daemon-up'); i++) await new Promise((r) => setTimeout(r, 25));
    assert.match(log, /daemon-up/);
    const tracked = (await sbx.commands.list()).map((p) => p.cmd).join(' ');
    assert.doesNotMatch(tracked, /setsid|daemon/, 'envd does not know the daemon: only the server can signal it');

    await sbx.close({ graceMs: 1500 });
    assert.match(log, /daemon-got-term/);
    const events = (await (await server.api('GET', `/sandboxes/${sbx.id}/events?since=0`)).json()) as Array<{
      type: string;
      cause: string;
      detail?: string;
    }>;
    assert.deepEqual(events.at(-1), { ...events.at(-1), type: 'killed', cause: 'user', detail: 'closed' });
  });

  test('bad grace periods are refused before anything happens', async (t) => {
    const sbx = await Sandbox.create(opts);
    t.after(() => sbx.kill().catch(() => undefined));
    await assert.rejects(sbx.close({ graceMs: -1 }), RangeError);
    await assert.rejects(sbx.close({ graceMs: 60_001 }), RangeError);
    for (const body of ['{"graceMs":-5}', '{"graceMs":1.5}', '{"graceMs":"2000"}', '{"graceMs":60001}', '{']) {
      const res = await server.api('POST', `/sandboxes/${sbx.id}/close`, body);
      assert.equal(res.status, 400, body);
      assert.equal(((await res.json()) as { code: number }).code, 400);
    }
    assert.equal(await sbx.getStatus(), 'running', 'nothing was closed');
    const unknown = await server.api('POST', '/sandboxes/inotexist00000000000000/close', '{}');
    assert.equal(unknown.status, 404);
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
