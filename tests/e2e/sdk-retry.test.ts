import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { needsSandboxHost } from '@sandboxd/runtime/testing';
import { AuthenticationError, createSandboxWithRetry, RateLimitError, Sandbox } from '@sandboxd/sdk';
import { startTestServer, type TestServer } from '../support/server-harness.js';

/** How many `POST` requests the server answered with `status` so far (its Prometheus counter). */
async function posts(server: TestServer, status: number): Promise<number> {
  const text = await (await server.api('GET', '/metrics')).text();
  const m = new RegExp(`sandboxd_http_requests_total\\{method="POST",status="${status}"\\} (\\d+)`).exec(text);
  return m ? Number(m[1]) : 0;
}

async function until(check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('condition not reached in 10 s');
}

// A server that runs one sandbox at a time: a second create answers 429 with Retry-After: 1.
describe('createSandboxWithRetry against a real server', needsSandboxHost, () => {
  let server: TestServer;
  let opts: { apiUrl: string; apiKey: string };
  before(async () => {
    server = await startTestServer({ env: { SANDBOXD_MAX_CONCURRENT_SANDBOXES: '1', SANDBOXD_WARM_POOL: '0' } });
    opts = { apiUrl: server.url, apiKey: server.apiKey };
  });
  after(() => server?.stop());

  test('a bad key stops at once: one request, AuthenticationError', async () => {
    const before = await posts(server, 401);
    await assert.rejects(createSandboxWithRetry(3, { ...opts, apiKey: `e2b_${'0'.repeat(40)}` }), AuthenticationError);
    assert.equal((await posts(server, 401)) - before, 1);
  });

  test('an unknown template stops at once: one request', async () => {
    const before = await posts(server, 404);
    await assert.rejects(
      createSandboxWithRetry(3, { ...opts, template: 'no-such-template' }),
      (err: unknown) => (err as { statusCode?: number }).statusCode === 404,
    );
    assert.equal((await posts(server, 404)) - before, 1);
  });

  for (const [name, retries] of [
    ["e2b's client waits the server's Retry-After and retries", undefined],
    ['with e2b retries off, the backoff loop retries the RateLimitError', 0],
  ] as const) {
    test(`a 429 (concurrency limit) is retried until it succeeds: ${name}`, async (t) => {
      const blocker = await Sandbox.create(opts);
      t.after(() => blocker.kill().catch(() => undefined));
      const before = await posts(server, 429);
      const created = createSandboxWithRetry(3, { ...opts, ...(retries === undefined ? {} : { retries }) });
      created.catch(() => undefined); // awaited below; do not let it be unhandled meanwhile
      await until(async () => (await posts(server, 429)) > before);
      await blocker.kill();
      const sbx = await created;
      t.after(() => sbx.kill().catch(() => undefined));
      assert.equal(await sbx.getStatus(), 'running');
      assert.equal((await sbx.commands.run('echo ok')).stdout, 'ok\n');
    });
  }

  test('when every attempt meets 429 the last RateLimitError is thrown after maxRetries attempts', async (t) => {
    const blocker = await Sandbox.create(opts);
    t.after(() => blocker.kill().catch(() => undefined));
    const before = await posts(server, 429);
    await assert.rejects(createSandboxWithRetry(2, { ...opts, retries: 0 }), RateLimitError);
    assert.equal((await posts(server, 429)) - before, 2);
  });
});
