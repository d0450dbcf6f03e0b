import assert from 'node:assert/strict';
import { test } from 'node:test';
import { needsSandboxHost } from '@sandboxd/runtime/testing';
import { Sandbox } from 'e2b';
import { startTestServer, type TestServer } from '../support/server-harness.js';
import { openSse } from '../support/sse.js';

// Issue #2 server interface: SIGTERM shuts down cleanly and kills nothing that should survive.
test('SIGTERM stops the server cleanly; its sandboxes keep running and are served again after a restart', {
  ...needsSandboxHost,
  timeout: 180_000,
}, async (t) => {
  const first = await startTestServer();
  let second: TestServer | undefined;
  t.after(() => (second ?? first).stop());
  first.useForE2b();
  const sbx = await Sandbox.create({ timeoutMs: 600_000 });
  const bg = await sbx.commands.run('sleep 600', { background: true, timeoutMs: 0 });
  const events = await openSse(`${first.url}/events`, { 'x-api-key': first.apiKey });
  t.after(() => events.close());
  await events.next((e) => e.event === 'ready');

  const exited = first.halt('SIGTERM');
  assert.equal(await events.ended, true, 'the shutdown ends open event streams cleanly');
  const code = await exited;
  assert.equal(code, 0, 'the server exits 0 on SIGTERM');
  assert.ok(
    first.logs.some((l) => l.includes('shutting down')),
    'the shutdown is logged',
  );

  second = await startTestServer({ reuseDataDir: first.dataDir, apiKey: first.apiKey });
  second.useForE2b();
  const again = await Sandbox.connect(sbx.sandboxId);
  assert.equal(await again.isRunning(), true);
  const ps = await again.commands.run(`kill -0 ${bg.pid} && echo alive`);
  assert.equal(ps.stdout, 'alive\n', 'a process started before the restart is still running');
  const info = await again.getInfo();
  assert.equal(info.state, 'running');
});
