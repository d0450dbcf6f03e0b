import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { needsSandboxHost } from '@sandboxd/runtime/testing';
import { startTestServer, type TestServer } from '../support/server-harness.js';

async function expectError(res: Response, status: number, messagePattern?: RegExp): Promise<void> {
  const text = await res.text();
  assert.equal(res.status, status, `status ${res.status} body ${text}`);
  assert.match(res.headers.get('content-type') ?? '', /application\/json/);
  const body = JSON.parse(text) as { code: unknown; message: unknown };
  assert.equal(body.code, status, 'E2B-shaped body: numeric code equal to the status');
  assert.equal(typeof body.message, 'string');
  if (messagePattern) assert.match(body.message as string, messagePattern);
}

// Issue #2: bad input gets a clear 4xx with an E2B-shaped body; never a 500, never a crash.
// The cases that need no sandbox run in process, on every route: packages/server/src/api/bad-input.test.ts.
// Here: what needs the real server (its socket, the proxy, live sandboxes).
describe('control plane rejects bad input cleanly', needsSandboxHost, () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server?.stop());

  test('a body over the size limit is 400', async () => {
    const huge = JSON.stringify({ templateID: 'base', metadata: { k: 'x'.repeat(2 * 1024 * 1024) } });
    await expectError(await server.api('POST', '/v2/sandboxes', huge), 400, /too large|exceeds/);
  });

  test('features not built yet answer 501 for a live sandbox and 404 for an unknown one', async (t) => {
    const created = await server.api('POST', '/v2/sandboxes', { templateID: 'base' });
    assert.equal(created.status, 201);
    const { sandboxID } = (await created.json()) as { sandboxID: string };
    t.after(() => server.api('DELETE', `/sandboxes/${sandboxID}`));
    await expectError(await server.api('GET', `/sandboxes/${sandboxID}/metrics`), 501, /metrics/);
    await expectError(await server.api('GET', '/sandboxes/doesnotexist0000/metrics'), 404);
  });

  test('pause, resume and lifecycle options validate their input', async (t) => {
    const created = await server.api('POST', '/v2/sandboxes', { templateID: 'base' });
    const { sandboxID } = (await created.json()) as { sandboxID: string };
    t.after(() => server.api('DELETE', `/sandboxes/${sandboxID}`));
    await expectError(await server.api('POST', `/sandboxes/${sandboxID}/pause`, { memory: 'yes' }), 400, /memory/);
    await expectError(await server.api('POST', `/sandboxes/${sandboxID}/connect`, { memory: 1 }), 400, /memory/);
    await expectError(await server.api('POST', `/sandboxes/${sandboxID}/resume`, {}), 409, /running/);
    await expectError(await server.api('POST', '/sandboxes/doesnotexist0000/pause', {}), 404);
    await expectError(await server.api('POST', '/sandboxes/doesnotexist0000/resume', {}), 404);
    await expectError(
      await server.api('POST', '/v2/sandboxes', {
        templateID: 'base',
        autoPause: true,
        autoPauseMemory: false,
        autoResume: { enabled: true },
      }),
      400,
      /autoResume/,
    );
    await expectError(await server.api('POST', '/v2/sandboxes', { templateID: 'base', autoResume: true }), 400);
  });

  test('the sandbox proxy answers 502 JSON for unknown sandboxes, by header and by host', async () => {
    const byHeader = await fetch(`${server.url}/health`, {
      headers: { 'e2b-sandbox-id': 'unknownsandbox0001', 'e2b-sandbox-port': '49983' },
    });
    assert.equal(byHeader.status, 502);
    assert.deepEqual(await byHeader.json(), {
      message: 'The sandbox was not found',
      sandboxId: 'unknownsandbox0001',
      code: 502,
    });
    const bad = await fetch(`${server.url}/health`, { headers: { 'e2b-sandbox-id': '../../etc' } });
    assert.equal(bad.status, 502);
    const { request } = await import('node:http');
    const status = await new Promise<number>((resolve, reject) => {
      const u = new URL(server.url);
      const req = request(
        { host: u.hostname, port: u.port, path: '/health', headers: { host: `49983-unknownsandbox0002.${u.host}` } },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.end();
    });
    assert.equal(status, 502);
  });

  test('the server survived all of it', async () => {
    const res = await fetch(`${server.url}/health`);
    assert.equal(res.status, 200);
    assert.ok(!server.logs.some((l) => l.includes('"unexpected error"')), 'no unexpected (500) errors were logged');
  });
});
