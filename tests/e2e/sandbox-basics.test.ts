import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { needsSandboxHost } from '@sandboxd/runtime/testing';
import { CommandExitError, Sandbox, SandboxNotFoundError } from 'e2b';
import { startTestServer, type TestServer } from '../support/server-harness.js';

// Issue #2 acceptance: the official `e2b` SDK, unchanged, against a real server with real sandboxes.
describe('e2b SDK against sandboxd: core lifecycle, commands and files', needsSandboxHost, () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
    server.useForE2b();
  });
  after(() => server?.stop());

  test('create with timeoutMs and metadata, then run a command', async (t) => {
    const sbx = await Sandbox.create({ timeoutMs: 120_000, metadata: { purpose: 'basics' } });
    t.after(() => sbx.kill());
    const result = await sbx.commands.run('echo hello');
    assert.equal(result.stdout, 'hello\n');
    assert.equal(result.exitCode, 0);
    const who = await sbx.commands.run('whoami && pwd');
    assert.equal(who.stdout, 'user\n/home/user\n');
  });

  test('a non-zero exit throws CommandExitError with the code and output', async (t) => {
    const sbx = await Sandbox.create();
    t.after(() => sbx.kill());
    await assert.rejects(sbx.commands.run('echo out; echo err >&2; exit 3'), (err: unknown) => {
      assert.ok(err instanceof CommandExitError);
      assert.equal(err.exitCode, 3);
      assert.equal(err.stdout, 'out\n');
      assert.equal(err.stderr, 'err\n');
      return true;
    });
  });

  test('files: write and read text and an 8 MiB binary', async (t) => {
    const sbx = await Sandbox.create();
    t.after(() => sbx.kill());
    await sbx.files.write('notes/hello.txt', 'hi there');
    assert.equal(await sbx.files.read('notes/hello.txt'), 'hi there');
    assert.equal(await sbx.files.read('/home/user/notes/hello.txt'), 'hi there');

    const blob = randomBytes(8 * 1024 * 1024);
    await sbx.files.write('/tmp/blob.bin', blob.buffer.slice(blob.byteOffset, blob.byteOffset + blob.byteLength));
    const back = await sbx.files.read('/tmp/blob.bin', { format: 'bytes' });
    assert.equal(back.byteLength, blob.byteLength);
    assert.ok(Buffer.from(back).equals(blob), '8 MiB round trip is byte-identical');
    const sum = await sbx.commands.run('sha256sum /tmp/blob.bin | cut -d" " -f1');
    const { createHash } = await import('node:crypto');
    assert.equal(sum.stdout.trim(), createHash('sha256').update(blob).digest('hex'));
  });

  test('getInfo reports the fields the SDK maps', async (t) => {
    const before = Date.now();
    const sbx = await Sandbox.create({ timeoutMs: 60_000, metadata: { a: '1' } });
    t.after(() => sbx.kill());
    const info = await sbx.getInfo();
    assert.equal(info.sandboxId, sbx.sandboxId);
    assert.equal(info.templateId, 'base');
    assert.equal(info.name, 'base');
    assert.deepEqual(info.metadata, { a: '1' });
    assert.equal(info.state, 'running');
    assert.equal(info.cpuCount, 2);
    assert.equal(info.memoryMB, 2048);
    assert.match(info.envdVersion, /^\d+\.\d+\.\d+$/);
    assert.ok(info.startedAt.getTime() >= before - 1000);
    const ttl = info.endAt.getTime() - Date.now();
    assert.ok(ttl > 50_000 && ttl <= 60_000, `endAt is ~60 s away (${ttl} ms)`);
  });

  test('list filters by metadata', async (t) => {
    const tag = randomBytes(4).toString('hex');
    const a = await Sandbox.create({ metadata: { userId: '123', env: 'dev', tag } });
    t.after(() => a.kill());
    const b = await Sandbox.create({ metadata: { userId: '123', env: 'prod', tag } });
    t.after(() => b.kill());
    const page = await Sandbox.list({ query: { metadata: { userId: '123', env: 'dev', tag } } }).nextItems();
    assert.deepEqual(
      page.map((s) => s.sandboxId),
      [a.sandboxId],
    );
    assert.deepEqual(page[0]?.metadata, { userId: '123', env: 'dev', tag });
    const both = await Sandbox.list({ query: { metadata: { tag } } }).nextItems();
    assert.deepEqual(new Set(both.map((s) => s.sandboxId)), new Set([a.sandboxId, b.sandboxId]));
  });

  test('setTimeout moves endAt both ways', async (t) => {
    const sbx = await Sandbox.create({ timeoutMs: 300_000 });
    t.after(() => sbx.kill());
    await sbx.setTimeout(30_000);
    const shorter = (await sbx.getInfo()).endAt.getTime() - Date.now();
    assert.ok(shorter <= 30_000 && shorter > 20_000, `shortened to ~30 s (${shorter} ms)`);
    await sbx.setTimeout(600_000);
    const longer = (await sbx.getInfo()).endAt.getTime() - Date.now();
    assert.ok(longer > 590_000 && longer <= 600_000, `extended to ~600 s (${longer} ms)`);
  });

  test('kill: isRunning turns false, connect fails, a second kill returns false', async () => {
    const sbx = await Sandbox.create();
    assert.equal(await sbx.isRunning(), true);
    await sbx.kill();
    assert.equal(await sbx.isRunning(), false);
    await assert.rejects(Sandbox.connect(sbx.sandboxId), SandboxNotFoundError);
    assert.equal(await Sandbox.kill(sbx.sandboxId), false);
    assert.equal(await Sandbox.kill('unknownsandboxid0000'), false);
    const running = await Sandbox.list({ query: { state: ['running'] } }).nextItems();
    assert.ok(!running.some((s) => s.sandboxId === sbx.sandboxId));
  });

  test('the proxy routes <port>-<sandboxId>.<domain> hosts to the sandbox (getHost)', async (t) => {
    const sbx = await Sandbox.create();
    t.after(() => sbx.kill());
    const host = sbx.getHost(49983);
    assert.equal(host, `49983-${sbx.sandboxId}.localhost:${new URL(server.url).port}`, 'domain uses the bound port');
    const { request } = await import('node:http');
    const u = new URL(server.url);
    const status = await new Promise<number>((resolve, reject) => {
      const req = request({ host: u.hostname, port: u.port, path: '/health', headers: { host } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
    assert.equal(status, 204, 'envd answered through host-based routing');
  });

  test('connect to a running sandbox returns a working handle', async (t) => {
    const sbx = await Sandbox.create();
    t.after(() => sbx.kill());
    const again = await Sandbox.connect(sbx.sandboxId);
    assert.equal((await again.commands.run('echo again')).stdout, 'again\n');
  });

  test('a sandbox whose timeout passes is gone within 2 s of endAt', async () => {
    const sbx = await Sandbox.create({ timeoutMs: 3_000 });
    const { endAt } = await sbx.getInfo();
    let goneAt: number | undefined;
    while (Date.now() < endAt.getTime() + 5_000) {
      if (!(await sbx.isRunning())) {
        goneAt = Date.now();
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(goneAt !== undefined, 'sandbox stopped running');
    assert.ok(goneAt <= endAt.getTime() + 2_000, `gone ${goneAt - endAt.getTime()} ms after endAt`);
    await assert.rejects(sbx.getInfo(), SandboxNotFoundError);
  });

  test('a command streaming when the sandbox is killed fails as "sandbox was killed"', async () => {
    const sbx = await Sandbox.create();
    const handle = await sbx.commands.run('sleep 60', { background: true });
    await Sandbox.kill(sbx.sandboxId);
    await assert.rejects(handle.wait(), /killed|end of life|not running/i);
  });
});
