import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { needsSandboxHost } from '@sandboxd/runtime/testing';
import { Sandbox } from 'e2b';
import { runcContainers } from '../support/host-resources.js';
import { removeDataDir, spawnServerProcess, startTestServer } from '../support/server-harness.js';
import { pooledIds, poolReady, servedWarm, until } from '../support/warm-pool-probes.js';

test('creates are handed pre-started sandboxes, each private to its owner; shutdown kills the pool', {
  ...needsSandboxHost,
  timeout: 180_000,
}, async (t) => {
  const server = await startTestServer({ env: { SANDBOXD_WARM_POOL: '2' } });
  t.after(() => server.stop());
  server.useForE2b();
  const containers = () => runcContainers(server.dataDir);
  // Ready, not merely started: `runc list` also shows sandboxes whose envd is still booting, and a
  // create that finds none ready starts cold.
  const baseReady = async () => (await poolReady(server)).base ?? 0;
  await until(async () => (await baseReady()) >= 2, 30_000);

  const a = await Sandbox.create({ envs: { OWNER: 'a' }, metadata: { who: 'a' } });
  const b = await Sandbox.create({ envs: { OWNER: 'b' } });
  assert.equal(servedWarm(server.logs, a.sandboxId), true, 'a came from the pool');
  assert.equal(servedWarm(server.logs, b.sandboxId), true, 'b came from the pool');
  assert.equal((await a.commands.run('echo $OWNER; whoami')).stdout, 'a\nuser\n', 'envVars reach a pooled sandbox');
  assert.equal((await b.commands.run('echo $OWNER')).stdout, 'b\n');
  assert.deepEqual((await a.getInfo()).metadata, { who: 'a' });

  // Each sandbox answers only its own owner's token.
  const stolen = await fetch(`${server.url}/files?path=/etc/hostname`, {
    headers: { 'e2b-sandbox-id': a.sandboxId, 'x-access-token': 'not-the-token' },
  });
  assert.equal(stolen.status, 401);

  // The pool refills in the background, and pooled sandboxes stay invisible to the API.
  await until(async () => (await baseReady()) >= 2, 30_000);
  assert.ok(containers().length >= 4, 'two handed out, two new in the pool');
  const listed = await Sandbox.list().nextItems();
  assert.deepEqual(new Set(listed.map((s) => s.sandboxId)), new Set([a.sandboxId, b.sandboxId]));

  await a.kill();
  await b.kill();
  await server.halt('SIGTERM');
  assert.deepEqual(containers(), [], 'no pooled sandbox survives a clean shutdown');
});

/**
 * A templates dir holding base (a link to the machine's) and `names` made from base's rootfs
 * (links too, with their own marker): new templates at no copying cost. `add` makes one more later.
 */
function testTemplatesDir(machineTemplates: string): {
  dir: string;
  add(name: string): void;
  rebuild(name: string): void;
} {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sandboxd-pool-templates-'));
  fs.symlinkSync(path.join(machineTemplates, 'base'), path.join(dir, 'base'));
  return {
    dir,
    add(name) {
      fs.mkdirSync(path.join(dir, name));
      fs.symlinkSync(path.join(machineTemplates, 'base', 'rootfs'), path.join(dir, name, 'rootfs'));
      this.rebuild(name);
    },
    /** A new marker is a new build, as far as the server can tell. */
    rebuild(name) {
      const marker = { name, recipeHash: randomBytes(8).toString('hex'), builtAt: new Date().toISOString() };
      fs.writeFileSync(path.join(dir, name, 'template.json'), JSON.stringify(marker));
    },
  };
}

test('one pool per template: each create comes from its own pool, refills only it; a missing template waits', {
  ...needsSandboxHost,
  timeout: 180_000,
}, async (t) => {
  const templates = testTemplatesDir('/var/lib/sandboxd/templates');
  t.after(() => fs.rmSync(templates.dir, { recursive: true, force: true }));
  templates.add('pool-second');
  const server = await startTestServer({
    env: { SANDBOXD_WARM_POOL: 'base=1,pool-second=1,pool-later=1', SANDBOXD_TEMPLATES_DIR: templates.dir },
  });
  t.after(() => server.stop());
  server.useForE2b();
  await until(async () => {
    const ready = await poolReady(server);
    return ready.base === 1 && ready['pool-second'] === 1;
  }, 30_000);
  assert.equal((await poolReady(server))['pool-later'], 0, 'the missing template has a pool, empty');
  const waiting = server.logs.filter((l) => l.includes('template is not built; its warm pool stays empty'));
  assert.equal(waiting.length, 1, 'one warning for the missing template');
  assert.equal((JSON.parse(waiting[0] ?? '{}') as { templateId?: string }).templateId, 'pool-later');
  const [baseFirst] = pooledIds(server.logs, 'base');
  const [secondFirst] = pooledIds(server.logs, 'pool-second');

  const second = await Sandbox.create('pool-second');
  t.after(() => second.kill().catch(() => {}));
  assert.equal(servedWarm(server.logs, second.sandboxId), true, 'pool-second came from a pool');
  assert.equal(second.sandboxId, secondFirst, "it is the sandbox pool-second's own pool started");
  assert.equal((await second.commands.run('echo ok')).stdout, 'ok\n');
  await until(() => pooledIds(server.logs, 'pool-second').length === 2, 30_000);
  assert.deepEqual(pooledIds(server.logs, 'base'), [baseFirst], "base's pool is untouched by the other's refill");
  assert.equal((await poolReady(server)).base, 1);

  const base = await Sandbox.create();
  t.after(() => base.kill().catch(() => {}));
  assert.equal(base.sandboxId, baseFirst, "base is handed base's pooled sandbox");
  await until(() => pooledIds(server.logs, 'base').length === 2, 30_000);
  assert.equal(pooledIds(server.logs, 'pool-second').length, 2, 'and the refill of base is its own');

  // The template appears while the server runs: its pool fills without a restart.
  templates.add('pool-later');
  await until(async () => (await poolReady(server))['pool-later'] === 1, 30_000);
  assert.ok(server.logs.some((l) => l.includes('template is built now; warm pool filling')));
  const later = await Sandbox.create('pool-later');
  t.after(() => later.kill().catch(() => {}));
  assert.equal(later.sandboxId, pooledIds(server.logs, 'pool-later')[0], 'served from its own pool');

  // A rebuild while the server runs: the sandbox pooled on the old build is not handed out.
  const stale = pooledIds(server.logs, 'pool-second')[1] ?? '';
  assert.ok(runcContainers(server.dataDir).includes(stale));
  templates.rebuild('pool-second');
  const rebuilt = await Sandbox.create('pool-second');
  t.after(() => rebuilt.kill().catch(() => {}));
  assert.equal(servedWarm(server.logs, rebuilt.sandboxId), false, 'started cold on the new build');
  await until(() => !runcContainers(server.dataDir).includes(stale), 30_000);
  await until(() => pooledIds(server.logs, 'pool-second').length === 3, 30_000);

  await Promise.all([second.kill(), base.kill(), later.kill(), rebuilt.kill()]);
  await server.halt('SIGTERM');
  assert.deepEqual(runcContainers(server.dataDir), [], "no pool's sandbox survives a clean shutdown");
});

test('a bad warm pool setting stops the start with a clear message, not a stack', {
  ...needsSandboxHost,
  timeout: 60_000,
}, async (t) => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sandboxd-test-'));
  t.after(() => removeDataDir(dataDir));
  const server = spawnServerProcess({ dataDir, env: { SANDBOXD_WARM_POOL: 'base=2,Code=x' } });
  const code = await server.exited;
  const stderr = server.logs.join('\n');
  assert.equal(code, 1, `exit code (stderr: ${stderr})`);
  assert.match(stderr, /SANDBOXD_WARM_POOL: 'Code' is not a template name/);
  assert.doesNotMatch(stderr, /^\s+at /m, 'no stack trace');
  assert.doesNotMatch(server.stdout(), /serving on/);
  assert.deepEqual(runcContainers(dataDir), []);
});
