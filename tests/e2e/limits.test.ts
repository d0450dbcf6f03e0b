import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { needsSandboxHost } from '@sandboxd/runtime/testing';
import { RateLimitError, Sandbox } from 'e2b';
import { startTestServer, type TestServer } from '../support/server-harness.js';

// Issue #3: plans clamp deadlines; the concurrent-sandbox quota and the per-key rate limit answer
// 429 with E2B's body and a Retry-After, which the 2.51 SDK honours.
describe('plans, quotas and rate limits', needsSandboxHost, () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({
      env: {
        SANDBOXD_WARM_POOL: '0',
        SANDBOXD_PLAN: 'base',
        SANDBOXD_MAX_CONCURRENT_SANDBOXES: '2',
        SANDBOXD_RATE_BURST_SECONDS: '1',
      },
    });
    server.useForE2b();
  });
  after(() => server?.stop());

  test('the base plan clamps every deadline to 1 h of continuous runtime', async (t) => {
    const sbx = await Sandbox.create({ timeoutMs: 2 * 3600_000 });
    t.after(() => sbx.kill());
    const info = await sbx.getInfo();
    const runtime = info.endAt.getTime() - info.startedAt.getTime();
    assert.ok(runtime <= 3600_000 && runtime > 3590_000, `clamped to the plan's hour (${runtime} ms)`);
    await sbx.setTimeout(2 * 3600_000);
    const again = await sbx.getInfo();
    assert.ok(again.endAt.getTime() - info.startedAt.getTime() <= 3600_000, 'setTimeout cannot pass the window');
    await sbx.setTimeout(10_000);
    assert.ok((await sbx.getInfo()).endAt.getTime() - Date.now() <= 10_000, 'but may shorten');
  });

  test('over the concurrent quota: 429 with E2B body and Retry-After; the SDK throws RateLimitError', async (t) => {
    const a = await Sandbox.create();
    t.after(() => a.kill());
    const b = await Sandbox.create();
    t.after(() => b.kill());
    const refused = await server.api('POST', '/v2/sandboxes', { templateID: 'base' });
    assert.equal(refused.status, 429);
    assert.equal(refused.headers.get('retry-after'), '1');
    const body = (await refused.json()) as { code: number; message: string };
    assert.equal(body.code, 429);
    assert.match(body.message, /limit of 2 concurrent sandboxes/);
    await assert.rejects(Sandbox.create(), RateLimitError);
    await b.kill();
    const c = await Sandbox.create();
    t.after(() => c.kill());
    assert.equal(await c.isRunning(), true, 'a freed place can be used again');
  });

  test('a key over its rate gets 429 + Retry-After; the SDK waits and succeeds', async () => {
    const key = server.cli(['key', 'create', '--team', 'default', '--rate-limit', '1']).trim();
    const headers = { 'x-api-key': key };
    const statuses: number[] = [];
    let refused: Response | undefined;
    for (let i = 0; i < 4; i++) {
      const res = await server.api('GET', '/v2/sandboxes', undefined, headers);
      statuses.push(res.status);
      if (res.status === 429) refused ??= res;
      else await res.body?.cancel();
    }
    assert.equal(statuses[0], 200);
    assert.ok(refused, `a burst of 4 at 1 request/s is refused (${statuses.join(',')})`);
    const retryAfter = Number(refused.headers.get('retry-after'));
    assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1, 'Retry-After is whole seconds');
    assert.deepEqual(await refused.json(), {
      code: 429,
      message: 'this API key may send 1 requests per second; slow down',
    });
    // The bucket is empty now: the SDK (2.51) retries after Retry-After and gets through.
    const items = await Sandbox.list({ apiKey: key }).nextItems();
    assert.ok(Array.isArray(items));
    const other = await server.api('GET', '/v2/sandboxes');
    assert.equal(other.status, 200, "one key's limit does not touch another key");
    const metrics = await (await server.api('GET', '/metrics')).text();
    assert.match(metrics, /sandboxd_rate_limited_requests_total [1-9]/);
  });
});
