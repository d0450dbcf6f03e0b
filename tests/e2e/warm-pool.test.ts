import assert from 'node:assert/strict';
import { test } from 'node:test';
import { needsSandboxHost } from '@sandboxd/runtime/testing';
import { Sandbox } from 'e2b';
import { runcContainers } from '../support/host-resources.js';
import { startTestServer } from '../support/server-harness.js';

function servedWarm(logs: string[], sandboxId: string): boolean | undefined {
  for (const line of logs) {
    if (!line.includes('"sandbox running"') || !line.includes(sandboxId)) continue;
    return (JSON.parse(line) as { warm?: boolean }).warm;
  }
  return undefined;
}

async function until(check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('creates are handed pre-started sandboxes, each private to its owner; shutdown kills the pool', {
  ...needsSandboxHost,
  timeout: 180_000,
}, async (t) => {
  const server = await startTestServer({ env: { SANDBOXD_WARM_POOL: '2' } });
  t.after(() => server.stop());
  server.useForE2b();
  const containers = () => runcContainers(server.dataDir);
  // Ready, not merely started: `runc list` also shows sandboxes whose envd is still booting, and a
  // create that finds none ready starts cold.
  const poolReady = async () => {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    return Number(/^sandboxd_warm_pool_ready (\d+)$/m.exec(text)?.[1] ?? 0);
  };
  await until(async () => (await poolReady()) >= 2, 30_000);

  const a = await Sandbox.create({ envs: { OWNER: 'a' }, metadata: { who: 'a' } });
  const b = await Sandbox.create({ envs: { OWNER: 'b' } });
  assert.equal(servedWarm(server.logs, a.sandboxId), true, 'a came from the pool');
  assert.equal(servedWarm(server.logs, b.sandboxId), true, 'b came from the pool');
  assert.equal((await a.commands.run('echo $OWNER; whoami')).stdout, 'a\nuser\n', 'envVars reach a pooled sandbox');
  assert.equal((await b.commands.run('echo $OWNER')).stdout, 'b\n');
  assert.deepEqual((await a.getInfo()).metadata, { who: 'a' });

  // Each sandbox answers only its own owner's token.
  const stolen = await fetch(`${server.url}/files?path=/etc/hostname`, {
    headers: { 'e2b-sandbox-id': a.sandboxId, 'x-access-token': 'not-the-token' },
  });
  assert.equal(stolen.status, 401);

  // The pool refills in the background, and pooled sandboxes stay invisible to the API.
  await until(async () => (await poolReady()) >= 2, 30_000);
  assert.ok(containers().length >= 4, 'two handed out, two new in the pool');
  const listed = await Sandbox.list().nextItems();
  assert.deepEqual(new Set(listed.map((s) => s.sandboxId)), new Set([a.sandboxId, b.sandboxId]));

  await a.kill();
  await b.kill();
  await server.halt('SIGTERM');
  assert.deepEqual(containers(), [], 'no pooled sandbox survives a clean shutdown');
});
