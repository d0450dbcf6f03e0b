import assert from 'node:assert/strict';
import { test } from 'node:test';
import { needsSandboxHost } from '@sandboxd/runtime/testing';
import { Sandbox } from 'e2b';
import { startTestServer, type TestServer } from '../support/server-harness.js';

// Issue #3 restart safety: a SIGKILLed server loses nothing. At the next start it re-adopts the
// running sandboxes (processes alive, envd traffic works) and their deadlines still fire.
test('after SIGKILL, a restart re-adopts sandboxes and their deadlines still fire', {
  ...needsSandboxHost,
  timeout: 180_000,
}, async (t) => {
  const first = await startTestServer({ env: { SANDBOXD_WARM_POOL: '0' } });
  let second: TestServer | undefined;
  t.after(() => (second ?? first).stop());
  first.useForE2b();
  const long = await Sandbox.create({ timeoutMs: 600_000, metadata: { role: 'long' } });
  const bg = await long.commands.run('sleep 600', { background: true, timeoutMs: 0 });
  await long.files.write('/home/user/kept.txt', 'kept');
  const short = await Sandbox.create({ timeoutMs: 12_000 });
  const shortEnd = (await short.getInfo()).endAt.getTime();

  await first.halt('SIGKILL');
  assert.equal(await fetch(first.url).catch(() => 'down'), 'down', 'the server is gone');

  second = await startTestServer({
    reuseDataDir: first.dataDir,
    apiKey: first.apiKey,
    env: { SANDBOXD_WARM_POOL: '0' },
  });
  second.useForE2b();
  const again = await Sandbox.connect(long.sandboxId);
  assert.equal((await again.commands.run(`kill -0 ${bg.pid} && cat /home/user/kept.txt`)).stdout, 'kept');
  const listed = await Sandbox.list({ query: { metadata: { role: 'long' } } }).nextItems();
  assert.deepEqual(
    listed.map((s) => s.sandboxId),
    [long.sandboxId],
  );

  // Not through `short` (its handle points at the dead server) nor `connect` (it would extend the
  // deadline): ask the new server's proxy directly, as isRunning() does.
  const restarted = second;
  const running = async () =>
    (await fetch(`${restarted.url}/health`, { headers: { 'e2b-sandbox-id': short.sandboxId } })).status === 204;
  assert.equal(await running(), true, 'the short sandbox was re-adopted too');
  while (Date.now() < shortEnd + 3_000 && (await running())) await new Promise((r) => setTimeout(r, 200));
  assert.equal(await running(), false, 'the deadline set before the crash fired after the restart');
  assert.ok(Date.now() <= shortEnd + 3_000);
  // The route goes first (502 at once); the `killed` record follows once the runtime is done.
  let last: { type: string; cause: string } | undefined;
  for (let i = 0; i < 50 && last?.type !== 'killed'; i++) {
    const res = await restarted.api('GET', `/sandboxes/${short.sandboxId}/events`);
    last = ((await res.json()) as Array<{ type: string; cause: string }>).at(-1);
    if (last?.type !== 'killed') await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(last?.type, 'killed');
  assert.equal(last?.cause, 'timeout');
});
