import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { needsSandboxHost } from '@sandboxd/runtime/testing';
import { Sandbox, SandboxError, SandboxPool } from '@sandboxd/sdk';
import { startTestServer, type TestServer } from '../support/server-harness.js';

describe('SandboxPool against a real server', needsSandboxHost, () => {
  let server: TestServer;
  let opts: { apiUrl: string; apiKey: string; timeoutMs: number; metadata: Record<string, string> };
  before(async () => {
    server = await startTestServer();
    opts = { apiUrl: server.url, apiKey: server.apiKey, timeoutMs: 120_000, metadata: { owner: 'pool' } };
  });
  after(() => server?.stop());

  async function poolIds(): Promise<string[]> {
    const paginator = Sandbox.list({ apiUrl: server.url, apiKey: server.apiKey, metadata: { owner: 'pool' } });
    const ids: string[] = [];
    while (paginator.hasNext) ids.push(...(await paginator.nextItems()).map((s) => s.sandboxId));
    return ids.sort();
  }

  test('20 concurrent acquires get 20 distinct live sandboxes; dead released ones are not handed out; cleanup kills all', async (t) => {
    const pool = new SandboxPool(3, opts);
    t.after(() => pool.cleanup());
    await pool.init();
    assert.equal(pool.available, 3);
    const initial = await poolIds();
    assert.equal(initial.length, 3);

    const first = await Promise.all(Array.from({ length: 20 }, () => pool.acquire()));
    const ids = first.map((s) => s.id);
    assert.equal(new Set(ids).size, 20, 'no sandbox handed out twice');
    for (const id of initial) assert.ok(ids.includes(id), 'the idle ones were used first');
    assert.equal(pool.available, 0);
    assert.deepEqual(await poolIds(), [...ids].sort(), 'exactly the 20 exist on the server');

    // Release 5; one of them dies while idle (killed by another client).
    const [dead, ...back] = first.slice(0, 5);
    assert.ok(dead);
    for (const s of [dead, ...back]) pool.release(s);
    pool.release(back[0] as Sandbox); // a double release keeps one entry
    assert.equal(pool.available, 5);
    assert.equal((await server.api('DELETE', `/sandboxes/${dead.id}`)).status, 204);

    const second = await Promise.all(Array.from({ length: 6 }, () => pool.acquire()));
    const secondIds = second.map((s) => s.id);
    assert.ok(!secondIds.includes(dead.id), 'the dead sandbox is not handed out');
    assert.equal(new Set(secondIds).size, 6);
    for (const s of back) assert.ok(secondIds.includes(s.id), 'the live released ones are reused');
    const statuses = await Promise.all(second.map((s) => s.getStatus()));
    assert.deepEqual(new Set(statuses), new Set(['running']));

    // Nothing released from `second` or the rest of `first`: cleanup still kills every one.
    await pool.cleanup();
    assert.deepEqual(await poolIds(), []);
    await assert.rejects(pool.acquire(), SandboxError);
    await pool.cleanup(); // idempotent
  });
});
