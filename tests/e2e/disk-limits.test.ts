import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { needsSandboxHost } from '@sandboxd/runtime/testing';
import { CommandExitError, NotEnoughSpaceError, RateLimitError, Sandbox, SandboxError } from 'e2b';
import { startTestServer, type TestServer } from '../support/server-harness.js';

// Issue #12: a sandbox's disk is a sparse file on the host. Filling it must give the writer
// ENOSPC and nothing else; creates and pauses are admitted against the host's real free space
// (507 when it cannot hold them) and the team's paused limit (429), leaving nothing half-made.
const MiB = 1024 * 1024;
const diskMiB = 128;

function sandboxDir(server: TestServer, id: string): string {
  return path.join(server.dataDir, 'runtime', 'sandboxes', id);
}

function allocatedBytes(file: string): number {
  return fs.statSync(file).blocks * 512;
}

function freeBytes(dir: string): number {
  const s = fs.statfsSync(dir);
  return s.bavail * s.bsize;
}

/** Runs `cmd` and answers its failure's stderr (the test expects it to fail). */
async function failing(sbx: Sandbox, cmd: string, user: 'root' | 'user'): Promise<string> {
  const err = await sbx.commands.run(cmd, { user, timeoutMs: 60_000 }).then(
    (ok) => assert.fail(`expected ${cmd} to fail, it printed ${ok.stdout}`),
    (e: unknown) => e,
  );
  assert.ok(err instanceof CommandExitError, String(err));
  return err.stderr;
}

describe('a sandbox that fills its disk', needsSandboxHost, () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ env: { SANDBOXD_WARM_POOL: '0', SANDBOXD_SANDBOX_DISK_MIB: String(diskMiB) } });
    server.useForE2b();
  });
  after(() => server?.stop());

  test('gets ENOSPC as root and as user; it, its neighbour, the server and the host are unaffected', async (t) => {
    const full = await Sandbox.create({ timeoutMs: 300_000 });
    t.after(() => full.kill());
    const neighbour = await Sandbox.create({ timeoutMs: 300_000 });
    t.after(() => neighbour.kill());
    const image = path.join(sandboxDir(server, full.sandboxId), 'disk.img');
    const freeBefore = freeBytes(server.dataDir);
    const t0 = performance.now();

    const asUser = await failing(full, 'dd if=/dev/zero of=/home/user/fill bs=1M count=1024', 'user');
    assert.match(asUser, /No space left on device/);
    const asRoot = await failing(full, 'fallocate -l 1G /root/big || dd if=/dev/zero of=/root/fill bs=1M', 'root');
    assert.match(asRoot, /No space left on device/);
    const fillMs = performance.now() - t0;

    // The sandbox answers, its files API says "not enough space" (507 → the SDK's error), and
    // freeing space inside makes writes work again.
    assert.equal((await full.commands.run('echo alive')).stdout, 'alive\n');
    await assert.rejects(full.files.write('/home/user/more.bin', 'x'.repeat(4 * MiB)), NotEnoughSpaceError);
    await full.commands.run('rm -f /home/user/fill /root/fill /root/big', { user: 'root' });
    await full.files.write('/home/user/after.txt', 'written after freeing space');
    assert.equal(await full.files.read('/home/user/after.txt'), 'written after freeing space');

    // The host: the sandbox's image never grew past its size.
    const held = allocatedBytes(image);
    assert.ok(held <= diskMiB * MiB, `the image holds ${held} bytes, at most its ${diskMiB} MiB`);
    const drop = freeBefore - freeBytes(server.dataDir);
    t.diagnostic(
      `filled a ${diskMiB} MiB disk in ${Math.round(fillMs)} ms; image holds ${Math.round(held / MiB)} MiB after rm; ` +
        `host free space moved by ${Math.round(drop / MiB)} MiB`,
    );

    // The neighbour and the server carry on.
    await neighbour.files.write('/home/user/ok.bin', 'y'.repeat(8 * MiB));
    assert.equal((await neighbour.commands.run('stat -c %s /home/user/ok.bin')).stdout.trim(), String(8 * MiB));
    assert.equal((await server.api('GET', '/v2/sandboxes')).status, 200);
    assert.equal(server.process.exitCode, null, 'the server is still running');
  });
});

describe('admission against host space and the paused limit', needsSandboxHost, () => {
  let first: TestServer;
  let second: TestServer | undefined;
  before(async () => {
    first = await startTestServer({ env: { SANDBOXD_WARM_POOL: '0', SANDBOXD_MAX_PAUSED_SANDBOXES: '1' } });
  });
  after(() => (second ?? first)?.stop());

  test('a pause over the paused limit is a 429 without Retry-After; the sandbox runs on', async () => {
    first.useForE2b();
    const a = await Sandbox.create({ timeoutMs: 600_000 });
    const b = await Sandbox.create({ timeoutMs: 600_000 });
    assert.equal(await a.pause(), true);
    const refused = await first.api('POST', `/sandboxes/${b.sandboxId}/pause`, {});
    assert.equal(refused.status, 429);
    assert.equal(refused.headers.get('retry-after'), null, 'waiting alone frees no place');
    const body = (await refused.json()) as { code: number; message: string };
    assert.equal(body.code, 429);
    assert.match(body.message, /limit of 1 paused sandboxes/);
    await assert.rejects(b.pause(), RateLimitError);
    assert.equal((await b.commands.run('echo running')).stdout, 'running\n');
    assert.equal((await b.getInfo()).state, 'running');
  });

  test('with the reserve above the free space: create and memory pause are 507, nothing half-made', async () => {
    // A restart with a reserve no host has: the sandboxes keep running and are adopted again.
    assert.equal(await first.halt('SIGTERM'), 0);
    second = await startTestServer({
      reuseDataDir: first.dataDir,
      apiKey: first.apiKey,
      env: { SANDBOXD_WARM_POOL: '0', SANDBOXD_DISK_RESERVE_MIB: String(1 << 30) },
    });
    second.useForE2b();
    const running = (await Sandbox.list({ query: { state: ['running'] } }).nextItems()).map((s) => s.sandboxId);
    assert.equal(running.length, 1);
    const [id] = running as [string];
    const b = await Sandbox.connect(id);

    const create = await second.api('POST', '/v2/sandboxes', { templateID: 'base' });
    assert.equal(create.status, 507);
    const createBody = (await create.json()) as { code: number; message: string };
    assert.equal(createBody.code, 507);
    assert.match(createBody.message, /not enough free disk space on the host for a new sandbox/);
    await assert.rejects(Sandbox.create(), (e: unknown) => {
      assert.ok(e instanceof SandboxError && !(e instanceof RateLimitError), String(e));
      assert.match((e as Error).message, /^507: not enough free disk space/);
      return true;
    });
    const all = await Sandbox.list({ query: { state: ['running', 'paused'] } }).nextItems();
    assert.equal(all.length, 2, 'no sandbox was made by the refused creates');
    const dirs = fs.readdirSync(path.join(second.dataDir, 'runtime', 'sandboxes'));
    assert.equal(dirs.length, 2, `no state directory left behind: ${dirs.join(', ')}`);

    const pause = await second.api('POST', `/sandboxes/${id}/pause`, {});
    assert.equal(pause.status, 507);
    assert.match(((await pause.json()) as { message: string }).message, /memory pause of sandbox/);
    await assert.rejects(
      b.pause(),
      (e: unknown) => e instanceof SandboxError && /^507: not enough free/.test(e.message),
    );
    assert.equal((await b.commands.run('echo still running')).stdout, 'still running\n');
    assert.equal((await b.getInfo()).state, 'running');
    const left = fs.readdirSync(sandboxDir(second, id));
    assert.ok(!left.some((f) => f.startsWith('checkpoint')), `no image written: ${left.join(', ')}`);
    const events = (await (await second.api('GET', `/sandboxes/${id}/events`)).json()) as Array<{ type: string }>;
    assert.ok(events.length > 0);
    assert.ok(!events.some((e) => e.type === 'pausing'), 'the refused pauses never started');
  });
});
