import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { needsSandboxHost } from '@sandboxd/runtime/testing';
import {
  AuthenticationError,
  InvalidArgumentError,
  MetadataValidationError,
  Sandbox,
  SandboxNotFoundError,
  type SandboxStatus,
  Sandbox as SdkDefault,
} from '@sandboxd/sdk';
import { Sandbox as E2bSandbox } from 'e2b';
import { startTestServer, type TestServer } from '../support/server-harness.js';

async function listIds(paginator: { hasNext: boolean; nextItems(): Promise<Array<{ sandboxId: string }>> }) {
  const ids: string[] = [];
  while (paginator.hasNext) ids.push(...(await paginator.nextItems()).map((s) => s.sandboxId));
  return ids;
}

// @sandboxd/sdk's additions to e2b's Sandbox, against a real server, configured by SANDBOXD_* only.
describe('@sandboxd/sdk Sandbox: id, status, keepAlive, metadata, list', needsSandboxHost, () => {
  let server: TestServer;
  let sbx: Sandbox;
  before(async () => {
    server = await startTestServer();
    for (const name of ['E2B_API_URL', 'E2B_SANDBOX_URL', 'E2B_API_KEY', 'E2B_DOMAIN']) delete process.env[name];
    process.env.SANDBOXD_API_URL = server.url;
    process.env.SANDBOXD_API_KEY = server.apiKey;
    sbx = await Sandbox.create({ timeoutMs: 300_000, metadata: { suite: 'sdk', stage: 'new' } });
  });
  after(async () => {
    await sbx?.kill().catch(() => undefined);
    await server?.stop();
  });

  test('create through SANDBOXD_* env: id is sandboxId, commands and files work as in e2b', async () => {
    assert.equal(SdkDefault, Sandbox);
    assert.ok(sbx instanceof E2bSandbox, 'an e2b Sandbox underneath');
    assert.equal(sbx.id, sbx.sandboxId);
    const run = await sbx.commands.run('echo hi');
    assert.equal(run.stdout, 'hi\n');
    await sbx.files.write('/tmp/x.txt', 'content');
    assert.equal(await sbx.files.read('/tmp/x.txt'), 'content');
    const again = await Sandbox.connect(sbx.id);
    assert.equal(await again.getStatus(), 'running');
  });

  test('keepAlive extends to now + ms and never shortens', async () => {
    const before = (await sbx.getInfo()).endAt.getTime();
    await sbx.keepAlive(10_000);
    assert.equal((await sbx.getInfo()).endAt.getTime(), before, 'a shorter keepAlive leaves the deadline');
    const asked = Date.now();
    await sbx.keepAlive(900_000);
    const extended = (await sbx.getInfo()).endAt.getTime();
    assert.ok(extended > before, 'a longer keepAlive extends');
    assert.ok(extended >= asked + 900_000 - 1000, `deadline about now + 15 min (${extended - asked} ms)`);
    await assert.rejects(sbx.keepAlive(-1), RangeError);
  });

  test('getMetadata/setMetadata persist on the server: merge, null removes, replace', async () => {
    assert.deepEqual(await sbx.getMetadata(), { suite: 'sdk', stage: 'new' });
    assert.deepEqual(await sbx.setMetadata({ stage: 'testing', version: '1.0' }), {
      suite: 'sdk',
      stage: 'testing',
      version: '1.0',
    });
    assert.deepEqual(await sbx.setMetadata({ version: null }), { suite: 'sdk', stage: 'testing' });
    // Another client (plain HTTP) sees the server's record at once.
    const raw = (await (await server.api('GET', `/sandboxes/${sbx.id}`)).json()) as { metadata: unknown };
    assert.deepEqual(raw.metadata, { suite: 'sdk', stage: 'testing' });
    assert.deepEqual(await sbx.setMetadata({ suite: 'sdk', only: 'this' }, { replace: true }), {
      suite: 'sdk',
      only: 'this',
    });
    assert.deepEqual(await sbx.getMetadata(), { suite: 'sdk', only: 'this' });
  });

  test('metadata validation errors are typed, from the client and from the server, and change nothing', async () => {
    const isValidation = (err: unknown) =>
      err instanceof MetadataValidationError && err instanceof InvalidArgumentError;
    await assert.rejects(sbx.setMetadata({ n: 1 as unknown as string }), isValidation);
    await assert.rejects(sbx.setMetadata({ n: null }, { replace: true }), isValidation);
    const tooMany = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, 'v']));
    await assert.rejects(sbx.setMetadata(tooMany), isValidation);
    await assert.rejects(sbx.setMetadata({ big: 'x'.repeat(5000) }), isValidation);
    assert.deepEqual(await sbx.getMetadata(), { suite: 'sdk', only: 'this' });
  });

  test('Sandbox.list({ metadata }) and list({ query: { metadata } }) both filter on the server', async () => {
    await sbx.setMetadata({ listed: 'yes' });
    assert.deepEqual(await listIds(Sandbox.list({ metadata: { listed: 'yes' } })), [sbx.id]);
    assert.deepEqual(await listIds(Sandbox.list({ query: { metadata: { listed: 'yes', suite: 'sdk' } } })), [sbx.id]);
    assert.deepEqual(await listIds(Sandbox.list({ metadata: { listed: 'no' } })), []);
    assert.deepEqual(
      await listIds(Sandbox.list({ metadata: { listed: 'yes' }, query: { metadata: { suite: 'x' } } })),
      [],
    );
    assert.ok((await listIds(Sandbox.list())).includes(sbx.id));
  });

  test('getStatus: running, paused after pause, running after connect, closed after kill, never throws', async () => {
    const other = await Sandbox.create({ timeoutMs: 120_000 });
    try {
      assert.equal(await other.getStatus(), 'running');
      assert.equal(await other.pause(), true);
      assert.equal(await other.getStatus(), 'paused');
      await other.keepAlive(60_000); // the server's connect: resumes a paused sandbox
      assert.equal(await other.getStatus(), 'running');
      assert.equal(await other.kill(), true);
      assert.equal(await other.getStatus(), 'closed');
      await assert.rejects(other.getMetadata(), SandboxNotFoundError);
      await assert.rejects(other.setMetadata({ a: 'b' }), SandboxNotFoundError);
    } finally {
      await other.kill().catch(() => undefined);
    }
  });
});

describe('@sandboxd/sdk Sandbox.getStatus(id) without an instance', needsSandboxHost, () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ env: { SANDBOXD_WARM_POOL: '0' } });
    process.env.SANDBOXD_API_URL = server.url;
    process.env.SANDBOXD_API_KEY = server.apiKey;
  });
  after(() => server?.stop());

  test('creating while a create is under way, paused stays paused, closed after kill', async () => {
    // Watch another client's create: its id shows up in the list (as the server's `phase`) before
    // it answers. No warm pool here, so the create boots a sandbox: a few hundred ms to watch.
    const tag = `creating-${Date.now()}`;
    const creating = Sandbox.create({ timeoutMs: 60_000, metadata: { tag } });
    let id: string | undefined;
    let seen: SandboxStatus | undefined;
    let settled = false;
    void creating.then(
      () => {
        settled = true;
      },
      () => {
        settled = true;
      },
    );
    while (!settled && seen === undefined) {
      const res = await server.api('GET', `/v2/sandboxes?metadata=${encodeURIComponent(`tag=${tag}`)}`);
      const listed = (await res.json()) as Array<{ sandboxID: string; phase: string }>;
      id = listed[0]?.sandboxID;
      if (id && listed[0]?.phase === 'creating') seen = await Sandbox.getStatus(id);
    }
    const made = await creating;
    try {
      assert.equal(seen, 'creating');
      assert.equal(await Sandbox.getStatus(made.id), 'running');
      assert.equal(await made.pause(), true);
      assert.equal(await Sandbox.getStatus(made.id), 'paused');
      assert.equal(await Sandbox.getStatus(made.id), 'paused', 'reading the status did not resume it');
      assert.equal(await made.kill(), true);
      assert.equal(await Sandbox.getStatus(made.id), 'closed');
      assert.equal(await Sandbox.getStatus('inotexist000000000000'), 'closed');
      await assert.rejects(
        Sandbox.getStatus(made.id, { apiKey: 'e2b_0000000000000000000000000000000000000000' }),
        AuthenticationError,
      );
    } finally {
      await made.kill().catch(() => undefined);
    }
  });
});
