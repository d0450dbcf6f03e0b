import assert from 'node:assert/strict';
import { test } from 'node:test';
import { needsSandboxHost } from '@sandboxd/runtime/testing';
import { Sandbox, type SandboxEvent } from '@sandboxd/sdk';
import { runcContainers, settledHostResources } from '../support/host-resources.js';
import { startTestServer } from '../support/server-harness.js';

// Root inside a sandbox kills envd: tini (PID 1) exits with it and the container stops. The
// server must notice by itself, not wait for the deadline: the sandbox is killed (cause error),
// every client's event stream says so, and nothing of it is left on the host.
test(
  'envd killed from inside: the server notices, kills the sandbox, tells the clients, leaves nothing',
  needsSandboxHost,
  async (t) => {
    const server = await startTestServer({ env: { SANDBOXD_WARM_POOL: '0' } });
    t.after(() => server.stop());
    const opts = { apiUrl: server.url, apiKey: server.apiKey };
    const sbx = await Sandbox.create({ ...opts, timeoutMs: 600_000 });
    const seen: string[] = [];
    const record = (e: SandboxEvent) => seen.push(e.type === 'close' ? `close:${e.reason}` : e.type);
    sbx.on('error', record);
    sbx.on('close', record);
    await sbx.whenEventsReady();

    await sbx.commands
      .run('kill -9 $(pgrep -f /opt/sandboxd/envd.mjs)', { user: 'root', background: true })
      .catch(() => undefined); // the command dies with envd
    let status = await sbx.getStatus();
    for (let i = 0; i < 100 && status !== 'closed'; i++) {
      await new Promise((r) => setTimeout(r, 200));
      status = await sbx.getStatus();
    }
    assert.equal(status, 'closed', 'killed well before its 10-minute deadline');
    // `closed` shows as soon as the teardown starts; the `killed` event once it is done.
    const lastEvent = async () =>
      (
        (await (await server.api('GET', `/sandboxes/${sbx.id}/events?since=0`)).json()) as Array<{
          type: string;
          cause: string;
        }>
      ).at(-1);
    let last = await lastEvent();
    for (let i = 0; i < 100 && last?.type !== 'killed'; i++) {
      await new Promise((r) => setTimeout(r, 100));
      last = await lastEvent();
    }
    assert.deepEqual([last?.type, last?.cause], ['killed', 'error']);
    for (let i = 0; i < 50 && !seen.includes('close:killed'); i++) await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(seen, ['error', 'close:killed'], 'the SDK reports the failure, then the close');
    const left = await settledHostResources(server.dataDir, [sbx.id]);
    assert.deepEqual([left.processes, left.mounts, left.loopDevices, runcContainers(server.dataDir)], [[], [], [], []]);
  },
);
