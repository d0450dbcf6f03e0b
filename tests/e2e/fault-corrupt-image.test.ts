import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { needsSandboxHost } from '@sandboxd/runtime/testing';
import { Sandbox } from 'e2b';
import { sandboxLeftovers } from '../support/host-resources.js';
import { startTestServer, type TestServer } from '../support/server-harness.js';

// Issue #12: a memory pause whose CRIU images were damaged on the host. The resume must fail with
// a clear 500 (the server's own fault, nothing the client sent), the sandbox stays listed as
// paused with its disk, a second attempt fails the same way, a fresh boot from its disk
// (`memory: false`) brings its files back, and a kill afterwards leaves nothing on the host.

type Corruption = (imagesDir: string) => string;

/** Cuts the biggest pages image to a third: the memory contents end early. */
const truncatePages: Corruption = (dir) => {
  const pages = fs
    .readdirSync(dir)
    .filter((f) => /^pages-\d+\.img$/.test(f))
    .map((f) => ({ f, size: fs.statSync(path.join(dir, f)).size }))
    .sort((a, b) => b.size - a.size)[0];
  assert.ok(pages && pages.size > 0, `a pages image in ${fs.readdirSync(dir).join(' ')}`);
  fs.truncateSync(path.join(dir, pages.f), Math.floor(pages.size / 3));
  return `${pages.f} truncated from ${pages.size} to ${Math.floor(pages.size / 3)} bytes`;
};

/** Overwrites the header and first records of inventory.img and of every core image. */
const overwriteHeaders: Corruption = (dir) => {
  const targets = fs.readdirSync(dir).filter((f) => f === 'inventory.img' || /^core-\d+\.img$/.test(f));
  assert.ok(targets.includes('inventory.img') && targets.length > 1, `core images in ${targets.join(' ')}`);
  for (const f of targets) {
    const fd = fs.openSync(path.join(dir, f), 'r+');
    try {
      fs.writeSync(fd, Buffer.alloc(64, 0xa5), 0, 64, 0);
    } finally {
      fs.closeSync(fd);
    }
  }
  return `the first 64 bytes of ${targets.length} images overwritten`;
};

interface ErrorAnswer {
  status: number;
  body: { code: number; message: string };
}

async function connectAnswer(server: TestServer, id: string, body: object): Promise<ErrorAnswer> {
  const res = await server.api('POST', `/sandboxes/${id}/connect`, body);
  return { status: res.status, body: (await res.json()) as ErrorAnswer['body'] };
}

async function stateOf(server: TestServer, id: string): Promise<{ state: string; phase: string }> {
  const res = await server.api('GET', `/sandboxes/${id}`);
  assert.equal(res.status, 200);
  const { state, phase } = (await res.json()) as { state: string; phase: string };
  return { state, phase };
}

async function assertNothingLeft(server: TestServer, id: string): Promise<void> {
  assert.deepEqual(
    {
      ...(await sandboxLeftovers(server.dataDir, id)),
      stateDir: fs.existsSync(path.join(server.dataDir, 'runtime', 'sandboxes', id)),
    },
    { containers: [], processes: [], mounts: [], loopDevices: [], cgroups: [], slots: [], stateDir: false },
    `something of ${id} is left`,
  );
}

describe('a corrupt checkpoint image', needsSandboxHost, () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ env: { SANDBOXD_WARM_POOL: '0' } });
    server.useForE2b();
  });
  after(() => server?.stop());

  for (const [name, corrupt] of [
    ['a truncated pages image', truncatePages],
    ['overwritten core and inventory images', overwriteHeaders],
  ] as const) {
    test(`${name}: the resume fails clearly, it stays paused, a fresh boot keeps its disk`, async (t) => {
      const sbx = await Sandbox.create({ timeoutMs: 300_000 });
      const id = sbx.sandboxId;
      t.after(() => server.api('DELETE', `/sandboxes/${id}`));
      await sbx.files.write('/home/user/kept.txt', 'written before the pause');
      // A process that lives in memory only, so a memory restore has pages to read.
      await sbx.commands.run('sleep 3600', { background: true, timeoutMs: 0 });
      assert.equal(await sbx.pause(), true);

      const images = path.join(server.dataDir, 'runtime', 'sandboxes', id, 'checkpoint');
      t.diagnostic(corrupt(images));

      const first = await connectAnswer(server, id, { timeout: 300 });
      t.diagnostic(`resume: ${first.status} ${JSON.stringify(first.body)}`);
      assert.equal(first.status, 500);
      assert.equal(first.body.code, 500);
      assert.equal(first.body.message, 'failed to resume the sandbox; it stays paused with its state');
      assert.deepEqual(await stateOf(server, id), { state: 'paused', phase: 'paused' });
      const listed = (await (await server.api('GET', '/v2/sandboxes?state=paused')).json()) as Array<{
        sandboxID: string;
      }>;
      assert.ok(
        listed.some((s) => s.sandboxID === id),
        'listed as paused',
      );

      // Through the official SDK, the second attempt: the same answer, nothing worse.
      await assert.rejects(Sandbox.connect(id), (err: Error) => {
        t.diagnostic(`SDK: ${err.name}: ${err.message}`);
        return /failed to resume the sandbox; it stays paused with its state/.test(err.message);
      });
      assert.deepEqual(await connectAnswer(server, id, { timeout: 300 }), first, 'a third attempt: the same');
      assert.deepEqual(await stateOf(server, id), { state: 'paused', phase: 'paused' });

      // Its disk is intact: a fresh boot from it has the file, and runs commands.
      const fresh = await server.api('POST', `/sandboxes/${id}/connect`, { timeout: 300, memory: false });
      assert.equal(fresh.status, 201, await fresh.clone().text());
      const back = await Sandbox.connect(id);
      assert.equal(await back.files.read('/home/user/kept.txt'), 'written before the pause');
      const ps = await back.commands.run('pgrep -x sleep || echo none');
      assert.equal(ps.stdout.trim(), 'none', 'a fresh boot: no process of before');
      assert.deepEqual(await stateOf(server, id), { state: 'running', phase: 'running' });

      // It pauses and resumes with its memory again: the bad images are not in the way.
      assert.equal(await back.pause(), true);
      const again = await Sandbox.connect(id);
      assert.equal((await again.commands.run('cat /home/user/kept.txt')).stdout, 'written before the pause');

      assert.equal(await again.kill(), true);
      assert.equal((await server.api('GET', `/sandboxes/${id}`)).status, 404);
      await assertNothingLeft(server, id);
    });
  }
});
