import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { needsSandboxHost } from '@sandboxd/runtime/testing';
import { E2B, Sandbox } from '@sandboxd/sdk';
import { startTestServer, type TestServer } from '../support/server-harness.js';

// No environment variables at all: options only, through the E2B client and the static calls.
describe('@sandboxd/sdk with explicit options: E2B client, static kill/getInfo/setTimeout', needsSandboxHost, () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
    for (const name of Object.keys(process.env)) {
      if (name.startsWith('E2B_') || name.startsWith('SANDBOXD_')) delete process.env[name];
    }
  });
  after(() => server?.stop());

  test("new E2B({ apiUrl, apiKey }).Sandbox is this SDK's Sandbox, bound to those options", async (t) => {
    const client = new E2B({ apiUrl: server.url, apiKey: server.apiKey });
    const sbx = await client.Sandbox.create({ timeoutMs: 60_000, metadata: { via: 'client' } });
    t.after(() => sbx.kill().catch(() => undefined));
    assert.ok(sbx instanceof Sandbox);
    assert.equal(await sbx.getStatus(), 'running');
    assert.equal((await sbx.commands.run('echo bound')).stdout, 'bound\n');
    const listed = await client.Sandbox.list({ metadata: { via: 'client' } }).nextItems();
    assert.deepEqual(
      listed.map((s) => s.sandboxId),
      [sbx.id],
    );

    // The static calls take the URL in their options (e2b's types leave it out; its code honours it).
    const opts = { apiUrl: server.url, apiKey: server.apiKey };
    await Sandbox.setTimeout(sbx.id, 300_000, opts);
    const info = await Sandbox.getInfo(sbx.id, opts);
    assert.ok(info.endAt.getTime() - Date.now() > 290_000);
    assert.equal(await Sandbox.kill(sbx.id, opts), true);
    assert.equal(await sbx.getStatus(), 'closed');
  });
});
