import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { defaultTemplatesDir, templateRootfs } from '@sandboxd/runtime';
import { needsSandboxHost } from '@sandboxd/runtime/testing';
import { Sandbox } from 'e2b';
import { runcContainers } from '../support/host-resources.js';
import { startTestServer, type TestServer } from '../support/server-harness.js';

/**
 * Templates with a start command, made for this test: hard-linked copies of the machine's base
 * (cheap; the rootfs is a read-only lower layer) with a marker naming their start and ready check.
 */
function makeTemplate(dir: string, name: string, start: object, ready: object): void {
  fs.mkdirSync(path.join(dir, name));
  execFileSync('cp', ['-al', templateRootfs(defaultTemplatesDir, 'base'), path.join(dir, name, 'rootfs')]);
  const marker = { name, recipeHash: 'test', builtAt: new Date().toISOString(), start, ready };
  fs.writeFileSync(path.join(dir, name, 'template.json'), JSON.stringify(marker));
}

describe('templates with a start command', { ...needsSandboxHost, timeout: 240_000 }, () => {
  let server: TestServer;
  let templatesDir: string;
  before(async () => {
    templatesDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sandboxd-start-templates-'));
    fs.chmodSync(templatesDir, 0o755);
    makeTemplate(
      templatesDir,
      'web',
      // Slow on purpose: the create must wait for it, not answer at envd's /health.
      { cmd: 'sleep 1; exec python3 -m http.server 8080 --bind 127.0.0.1', user: 'user', cwd: '/home/user' },
      { cmd: 'curl -sf http://127.0.0.1:8080/ >/dev/null', timeoutMs: 30_000 },
    );
    makeTemplate(
      templatesDir,
      'broken',
      { cmd: 'echo "cannot bind 8080" >&2; exit 3', user: 'user', cwd: '/home/user' },
      { cmd: 'false', timeoutMs: 30_000 },
    );
    server = await startTestServer({ env: { SANDBOXD_TEMPLATES_DIR: templatesDir, SANDBOXD_WARM_POOL: '0' } });
    server.useForE2b();
  });
  after(async () => {
    await server?.stop();
    if (templatesDir) fs.rmSync(templatesDir, { recursive: true, force: true });
  });

  test('create returns once the ready check passes; the start process runs as its user and is listed', async () => {
    const sbx = await Sandbox.create('web');
    try {
      const page = await sbx.commands.run('curl -sf http://127.0.0.1:8080/ | head -c 200');
      assert.match(page.stdout, /Directory listing/);
      const owner = await sbx.commands.run('ps -o user= -C python3');
      assert.equal(owner.stdout.trim(), 'user');
      const listed = await sbx.commands.list();
      const start = listed.find((p) => p.tag === 'start');
      assert.ok(start, `the start command is listed: ${JSON.stringify(listed)}`);
      assert.match(start.args.join(' '), /http\.server 8080/);
    } finally {
      await sbx.kill();
    }
  });

  test('a start command that fails fails the create with its reason and leaves nothing behind', async () => {
    await assert.rejects(Sandbox.create('broken'), (err: Error) => {
      assert.match(err.message, /start command ended \(exit status 3\)/);
      assert.match(err.message, /cannot bind 8080/);
      return true;
    });
    // The server also tries, in the background, to make this template's ready snapshot (one boot
    // that fails the same way and is rolled back too): nothing may be left once that has settled.
    const deadline = Date.now() + 60_000;
    while (runcContainers(server.dataDir).length > 0 && Date.now() < deadline) await sleep(200);
    assert.deepEqual(runcContainers(server.dataDir), [], 'the failed sandboxes were rolled back');
    const listed = await (await server.api('GET', '/v2/sandboxes?state=running,paused')).json();
    assert.deepEqual(listed, []);
  });

  test('a built-in template that is not built answers 404 saying how to build it', async () => {
    await assert.rejects(Sandbox.create('python-data-science'), (err: Error) => {
      assert.match(
        err.message,
        /not built on this server yet: build it with `sandboxd template build python-data-science`/,
      );
      return true;
    });
    // The alias E2B's code-interpreter clients may use names its target.
    const res = await server.api('POST', '/sandboxes', { templateID: 'code-interpreter' });
    assert.equal(res.status, 404);
    const body = (await res.json()) as { code: number; message: string };
    assert.equal(body.code, 404);
    assert.match(body.message, /sandboxd template build code-interpreter-v1/);
  });
});
