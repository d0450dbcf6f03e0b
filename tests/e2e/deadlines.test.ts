import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Sandbox } from 'e2b';
import { needsSandboxHost } from '../../packages/runtime/src/testing/host-requirements.js';
import { startTestServer, type TestServer } from '../support/server-harness.js';
import { makeUnpausable } from '../support/unpausable.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The team's plan: every run ends after this many seconds, whatever timeout was asked for. */
const maxRuntimeSeconds = 15;

interface WireEvent {
  type: string;
  cause: string;
  detail?: string;
}

// Issue #9: a timeout of 0, the plan's window as a hard limit, and waking a paused sandbox only
// with the credential its port requires.
describe('deadlines and waking, through the e2b SDK', needsSandboxHost, () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({
      env: { SANDBOXD_WARM_POOL: '0', SANDBOXD_MAX_RUNTIME_SECONDS: String(maxRuntimeSeconds) },
    });
    server.useForE2b();
  });
  after(() => server?.stop());

  async function events(id: string): Promise<WireEvent[]> {
    const res = await server.api('GET', `/sandboxes/${id}/events`);
    assert.equal(res.status, 200);
    return (await res.json()) as WireEvent[];
  }

  /** Polls the sandbox's event history until `done` holds; bounded, so a regression fails instead of hanging. */
  async function waitForEvents(id: string, done: (e: WireEvent[]) => boolean, ms = 60_000): Promise<WireEvent[]> {
    const end = Date.now() + ms;
    for (;;) {
      const list = await events(id);
      if (done(list)) return list;
      if (Date.now() > end) throw new Error(`sandbox ${id}: events never matched: ${JSON.stringify(list)}`);
      await sleep(200);
    }
  }

  const last = (list: WireEvent[]) => list.at(-1);

  test('setTimeout(0) expires the sandbox at once: killed, or paused with onTimeout pause', async (t) => {
    const killed = await Sandbox.create({ timeoutMs: 60_000 });
    t.after(() => Sandbox.kill(killed.sandboxId));
    const paused = await Sandbox.create({ timeoutMs: 60_000, lifecycle: { onTimeout: 'pause' } });
    t.after(() => Sandbox.kill(paused.sandboxId));
    await killed.setTimeout(0);
    await paused.setTimeout(0);
    const byTimeout = await waitForEvents(killed.sandboxId, (l) => last(l)?.type === 'killed');
    assert.equal(last(byTimeout)?.cause, 'timeout');
    assert.equal(await killed.isRunning(), false);
    await waitForEvents(paused.sandboxId, (l) => last(l)?.type === 'paused');
    assert.equal((await Sandbox.getInfo(paused.sandboxId)).state, 'paused');
  });

  test('create and connect accept a timeout of 0 with the same result', async (t) => {
    const born = await Sandbox.create({ timeoutMs: 0 });
    t.after(() => Sandbox.kill(born.sandboxId));
    const list = await waitForEvents(born.sandboxId, (l) => last(l)?.type === 'killed');
    assert.equal(last(list)?.cause, 'timeout', 'created, then expired at its deadline');

    const sbx = await Sandbox.create({ timeoutMs: 60_000, lifecycle: { onTimeout: 'pause' } });
    t.after(() => Sandbox.kill(sbx.sandboxId));
    const endAt = (await sbx.getInfo()).endAt.getTime();
    await Sandbox.connect(sbx.sandboxId, { timeoutMs: 0 });
    assert.equal((await sbx.getInfo()).endAt.getTime(), endAt, 'connect never shortens a running sandbox');
    await sbx.pause();
    await Sandbox.connect(sbx.sandboxId, { timeoutMs: 0 });
    const cycle = await waitForEvents(sbx.sandboxId, (l) => l.filter((e) => e.type === 'paused').length === 2);
    assert.deepEqual(
      cycle.slice(-3).map((e) => `${e.type}:${e.cause}`),
      ['resumed:user', 'pausing:timeout', 'paused:timeout'],
      'resumed by connect(0), then paused at once by its deadline',
    );
  });

  test('a sandbox that makes its pause fail is killed at the end of its plan, and the event says why', async (t) => {
    const sbx = await Sandbox.create({ timeoutMs: 600_000, lifecycle: { onTimeout: 'pause' } });
    t.after(() => Sandbox.kill(sbx.sandboxId));
    await makeUnpausable(sbx);

    const list = await waitForEvents(sbx.sandboxId, (l) => last(l)?.type === 'killed', 90_000);
    const killed = last(list);
    assert.equal(killed?.cause, 'timeout');
    assert.match(killed?.detail ?? '', /pause at the deadline failed 2 times/);
    assert.equal(
      list.filter((e) => e.type === 'pausing').length,
      2,
      'a bounded number of pause attempts, not one a minute forever',
    );
    assert.equal(list.filter((e) => e.type === 'paused').length, 0, 'it never paused');
    assert.equal(await sbx.isRunning(), false);
  });

  test('a paused autoResume sandbox wakes only for a request with its envd access token', async (t) => {
    const sbx = await Sandbox.create({ timeoutMs: 3_000, lifecycle: { onTimeout: 'pause', autoResume: true } });
    t.after(() => Sandbox.kill(sbx.sandboxId));
    const info = (await (await server.api('GET', `/sandboxes/${sbx.sandboxId}`)).json()) as {
      envdAccessToken?: string;
    };
    assert.ok(info.envdAccessToken, 'a secure sandbox (the SDK default)');
    await waitForEvents(sbx.sandboxId, (l) => last(l)?.type === 'paused', 30_000);

    const refused: Record<string, string>[] = [
      { 'e2b-sandbox-id': sbx.sandboxId },
      { 'e2b-sandbox-id': sbx.sandboxId, 'x-access-token': 'not-the-token' },
    ];
    for (const headers of refused) {
      const res = await fetch(`${server.url}/health`, { headers });
      assert.equal(res.status, 401, `refused: ${Object.keys(headers).join(', ')}`);
      assert.equal(((await res.json()) as { code: number }).code, 401);
    }
    const signedLess = await fetch(`${server.url}/files?path=/etc/hostname`, {
      headers: { 'e2b-sandbox-id': sbx.sandboxId },
    });
    assert.equal(signedLess.status, 401, 'a files request without token or signature');
    assert.equal((await Sandbox.getInfo(sbx.sandboxId)).state, 'paused', 'none of them woke it');

    // The SDK sends the token: its own /health probe wakes the sandbox.
    assert.equal(await sbx.isRunning(), true);
    assert.equal((await Sandbox.getInfo(sbx.sandboxId)).state, 'running');
    assert.equal(last(await events(sbx.sandboxId))?.cause, 'traffic');
  });
});
