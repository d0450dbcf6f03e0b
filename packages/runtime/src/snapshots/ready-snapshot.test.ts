import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { type TestContext, test } from 'node:test';
import { newSandboxId } from '@sandboxd/common';
import { buildEnvdBundle } from '@sandboxd/envd/build';
import { ENVD_CONFIG_ENV, ENVD_PORT, encodeEnvdBootConfig } from '@sandboxd/protocol';
import { RuncRuntime } from '../runc/runc-runtime.js';
import type { SandboxEndpoint } from '../runtime.js';
import { needsSandboxHost } from '../testing/host-requirements.js';
import { assertNothingLeft, createHarness, type Harness, testLimits } from '../testing/runtime-fixture.js';
import { readSnapshotRecord } from './snapshot-record.js';

/**
 * A ready snapshot of `base` with the real envd: made once (with a process started before the
 * dump that keeps a secret in memory), restored into several new sandboxes.
 */
const memoryServer = `import http.server, os, secrets
secret = secrets.token_hex(8)
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = ('%s %d %d' % (secret, os.getpid(), os.getuid())).encode()
        self.send_response(200); self.end_headers(); self.wfile.write(body)
    def log_message(self, *a): pass
http.server.HTTPServer(('0.0.0.0', 8000), H).serve_forever()
`;

async function harnessWithRealEnvd(t: TestContext): Promise<Harness & { snapshotId: () => string | undefined }> {
  const bundleDir = await fs.mkdtemp('/tmp/snap-envd-');
  t.after(() => fs.rm(bundleDir, { recursive: true, force: true }));
  const envdBundlePath = path.join(bundleDir, 'envd.mjs');
  await buildEnvdBundle(envdBundlePath);
  let snapshotId: string | undefined;
  let harness: Harness | undefined;
  // The snapshot sandbox gets a long-running process (as a template's start command would) and a
  // file, right before its dump.
  const beforeStep = async (step: string, sandboxId: string) => {
    // Only the first pause is the snapshot's (the test pauses a restored sandbox later).
    if (step !== 'pause:freeze' || !harness || snapshotId) return;
    snapshotId = sandboxId;
    await fs.writeFile(path.join(bundleDir, 'server.py'), memoryServer);
    const start = `su user -c 'echo before-dump > /home/user/pre.txt'; cat > /tmp/server.py <<'PY'\n${memoryServer}PY
setsid su user -c 'python3 /tmp/server.py' </dev/null >/dev/null 2>&1 &
for i in $(seq 100); do python3 -c 'import urllib.request; urllib.request.urlopen("http://127.0.0.1:8000")' 2>/dev/null && exit 0; sleep 0.05; done; exit 1`;
    const r = await harness.exec(sandboxId, start);
    assert.equal(r.code, 0, r.stderr);
  };
  harness = await createHarness(t, { envdBundlePath, beforeStep });
  return Object.assign(harness, { snapshotId: () => snapshotId });
}

function bootEnv(
  sandboxId: string,
  boot: { accessToken?: string; envVars?: Record<string, string>; initToken?: string },
) {
  return {
    [ENVD_CONFIG_ENV]: encodeEnvdBootConfig({
      sandboxId,
      envVars: boot.envVars ?? {},
      defaultUser: 'user',
      port: ENVD_PORT,
      ...(boot.accessToken ? { accessToken: boot.accessToken } : {}),
      ...(boot.initToken ? { initToken: boot.initToken } : {}),
    }),
  };
}

test(
  'sandboxes restored from one ready snapshot are separate sandboxes with the memory of the dump',
  needsSandboxHost,
  async (t) => {
    const h = await harnessWithRealEnvd(t);
    const create = async (boot: Parameters<typeof bootEnv>[1], fromSnapshot?: boolean) => {
      const sandboxId = newSandboxId();
      t.after(() => h.runtime.kill(sandboxId));
      const endpoint = await h.runtime.create({
        sandboxId,
        templateId: 'base',
        limits: testLimits,
        envdEnv: bootEnv(sandboxId, boot),
        ...(fromSnapshot === undefined ? {} : { fromSnapshot }),
      });
      return endpoint;
    };
    const info = await h.runtime.ensureReadySnapshot('base', testLimits);
    t.diagnostic(`snapshot ${info.key}: images ${info.imageBytes} B, disk ${info.diskBytes} B`);
    assert.ok(info.imageBytes > 0 && info.diskBytes > 0);
    const snapDir = path.join(String(h.options.snapshotsDir), 'base', info.key);
    const snapshot = await readSnapshotRecord(snapDir);
    assert.ok(snapshot);
    assert.equal(
      (await fs.stat(path.join(String(h.options.snapshotsDir)))).mode & 0o777,
      0o700,
      'snapshots are root-only',
    );
    const snapshotSandbox = h.snapshotId();
    assert.ok(snapshotSandbox, 'the snapshot sandbox was paused');
    assert.deepEqual(
      (await h.runtime.list()).map((s) => s.sandboxId),
      [],
      'the snapshot sandbox is gone',
    );
    await assertNothingLeft(h.stateDir, snapshotSandbox);

    const a = await create({ accessToken: 'token-a-0123456789abcdef', envVars: { WHO: 'a' } });
    const b = await create({ accessToken: 'token-b-0123456789abcdef', envVars: { WHO: 'b' } });
    assert.equal(a.from, 'snapshot');
    assert.equal(b.from, 'snapshot');
    assert.notEqual(a.address, b.address);

    const envd = (ep: typeof a, route: string, headers: Record<string, string> = {}, init: RequestInit = {}) =>
      fetch(`http://${ep.address}:${ep.envdPort}${route}`, { ...init, headers });
    // Each has its own owner: its token, its env vars; the other's token and the snapshot's init token are refused.
    assert.deepEqual(await (await envd(a, '/envs', { 'x-access-token': 'token-a-0123456789abcdef' })).json(), {
      WHO: 'a',
    });
    assert.deepEqual(await (await envd(b, '/envs', { 'x-access-token': 'token-b-0123456789abcdef' })).json(), {
      WHO: 'b',
    });
    assert.equal((await envd(a, '/envs', { 'x-access-token': 'token-b-0123456789abcdef' })).status, 401);
    const reinit = await envd(
      a,
      '/init',
      { 'x-init-token': snapshot.initToken, 'content-type': 'application/json' },
      {
        method: 'POST',
        body: JSON.stringify({ accessToken: 'stolen-0123456789abcdef', envVars: {} }),
      },
    );
    assert.equal(reinit.status, 404, "the snapshot's init token is used up in every copy");
    const file = await envd(a, '/files?path=/home/user/pre.txt', { 'x-access-token': 'token-a-0123456789abcdef' });
    assert.equal(await file.text(), 'before-dump\n', 'files written before the dump are there, served by envd');

    // The process started before the dump is alive in both, with the same memory, under each one's own uid range.
    const server = async (ep: typeof a) => (await (await fetch(`http://${ep.address}:8000/`)).text()).split(' ');
    const [sa, sb] = await Promise.all([server(a), server(b)]);
    assert.deepEqual(sa, sb);
    assert.equal(sa[2], '1000');
    const hostBase = async (pid: number) =>
      Number((await fs.readFile(`/proc/${pid}/uid_map`, 'utf8')).trim().split(/\s+/)[1]);
    const [baseA, baseB] = await Promise.all([hostBase(a.pid), hostBase(b.pid)]);
    assert.notEqual(baseA, baseB);
    assert.notEqual(baseA, snapshot.uidBase);

    // A restored sandbox pauses and resumes like any other, keeping its new identity.
    await h.runtime.pause(b.sandboxId);
    const resumed = await h.runtime.resume(b.sandboxId).catch((err) => {
      throw new Error(String(err.cause?.message ?? err), { cause: err });
    });
    assert.deepEqual(await server(resumed), sb);
    const envsB = await envd(b, '/envs', { 'x-access-token': 'token-b-0123456789abcdef' });
    assert.deepEqual(await envsB.json(), { WHO: 'b' });

    // Identity: boot id and machine id differ; a file written in one is not in the other.
    const probe = 'cat /proc/sys/kernel/random/boot_id /etc/machine-id; stat -c %u:%g /home/user/pre.txt';
    const [pa, pb] = await Promise.all([h.exec(a.sandboxId, probe), h.exec(b.sandboxId, probe)]);
    assert.equal(pa.code, 0, pa.stderr);
    const [bootA, machineA, ownerA] = pa.stdout.trim().split('\n');
    const [bootB, machineB] = pb.stdout.trim().split('\n');
    assert.notEqual(bootA, bootB);
    assert.notEqual(machineA, machineB);
    assert.equal(ownerA, '1000:1000', 'owners in the copied upper are shifted to the new range');
    assert.equal((await h.exec(a.sandboxId, 'su user -c "echo only-a > /home/user/a.txt"')).code, 0);
    assert.equal((await h.exec(b.sandboxId, 'test -e /home/user/a.txt')).code, 1);

    // Killing one leaves the other running.
    await h.runtime.kill(a.sandboxId);
    await assertNothingLeft(h.stateDir, a.sandboxId, { pid: a.pid });
    assert.deepEqual(await server(b), sb);
    assert.equal((await envd(b, '/health')).status, 204);
    // A warm-pool create: restored, still unowned, under the pool's own fresh init token.
    const pool = await create({ initToken: 'pool-token-0123456789abcdef' });
    assert.equal(pool.from, 'snapshot');
    assert.equal((await envd(pool, '/envs')).status, 503, 'unowned until the pool hands it over');
    const handOver = (token: string) =>
      envd(
        pool,
        '/init',
        { 'x-init-token': token, 'content-type': 'application/json' },
        {
          method: 'POST',
          body: JSON.stringify({ accessToken: 'owner-0123456789abcdef', envVars: { WHO: 'pool' } }),
        },
      );
    assert.equal((await handOver(snapshot.initToken)).status, 401, "the snapshot's token no longer opens it");
    assert.equal((await handOver('pool-token-0123456789abcdef')).status, 204);
    assert.deepEqual(await (await envd(pool, '/envs', { 'x-access-token': 'owner-0123456789abcdef' })).json(), {
      WHO: 'pool',
    });

    // fromSnapshot: false still boots cold.
    const cold = await create({}, false);
    assert.equal(cold.from, 'cold');
    assert.equal(
      (await fetch(`http://${cold.address}:8000/`).catch(() => undefined))?.status,
      undefined,
      'no dumped process',
    );
  },
);

test('a broken or stale snapshot falls back to a cold create', needsSandboxHost, async (t) => {
  const h = await harnessWithRealEnvd(t);
  const create = async () => {
    const sandboxId = newSandboxId();
    t.after(() => h.runtime.kill(sandboxId));
    return h.runtime.create({ sandboxId, templateId: 'base', limits: testLimits, envdEnv: bootEnv(sandboxId, {}) });
  };
  const info = await h.runtime.ensureReadySnapshot('base', testLimits);
  const dir = path.join(String(h.options.snapshotsDir), 'base', info.key);
  // Broken images: CRIU refuses them; the create rolls back, goes cold, and the snapshot is dropped.
  const pages = (await fs.readdir(path.join(dir, 'images'))).filter((n) => n.startsWith('pstree'));
  for (const n of pages) await fs.writeFile(path.join(dir, 'images', n), 'garbage');
  const broken = await create();
  assert.equal(broken.from, 'cold');
  assert.equal((await fetch(`http://${broken.address}:${broken.envdPort}/health`)).status, 204);
  assert.equal(await readSnapshotRecord(dir), undefined, 'the broken snapshot is deleted');
  const claims = (await h.runtime.list()).map((s) => s.sandboxId);
  assert.deepEqual(claims, [broken.sandboxId], 'nothing of the failed restore is left');

  // Stale: a snapshot under another key (an older build) is not used, and goes when a new one is made.
  await fs.mkdir(path.join(String(h.options.snapshotsDir), 'base', 'stale-key'), { recursive: true });
  await fs.writeFile(
    path.join(String(h.options.snapshotsDir), 'base', 'stale-key', 'snapshot.json'),
    '{"key":"stale-key"}',
  );
  assert.equal((await create()).from, 'cold');
  await h.runtime.ensureReadySnapshot('base', { ...testLimits, memoryMiB: testLimits.memoryMiB + 1 });
  assert.equal(await readSnapshotRecord(path.join(String(h.options.snapshotsDir), 'base', 'stale-key')), undefined);
});

test(
  'runtimes with their own state dirs share one snapshot store: one snapshot made, restored by all; one deleted mid-restore falls back to cold',
  needsSandboxHost,
  async (t) => {
    const h = await harnessWithRealEnvd(t);
    // tmpfs, another filesystem than the state dirs: the snapshot is copied in, its images copied out (no hard links).
    const shared = await fs.mkdtemp('/dev/shm/snap-store-');
    const work = await fs.mkdtemp('/tmp/snap-servers-');
    const created: Array<{ runtime: RuncRuntime; id: string }> = [];
    t.after(async () => {
      await Promise.allSettled(created.map((c) => c.runtime.kill(c.id)));
      await fs.rm(work, { recursive: true, force: true });
      await fs.rm(shared, { recursive: true, force: true });
    });
    const server = async (name: string, beforeStep?: (step: string, id: string) => Promise<void>) => {
      const runtime = new RuncRuntime({
        stateDir: path.join(work, name),
        templatesDir: String(h.options.templatesDir),
        envdBundlePath: h.options.envdBundlePath,
        snapshotsDir: shared,
        ...(beforeStep ? { beforeStep } : {}),
      });
      await runtime.init();
      return runtime;
    };
    const create = async (runtime: RuncRuntime): Promise<SandboxEndpoint> => {
      const id = newSandboxId();
      created.push({ runtime, id });
      return runtime.create({ sandboxId: id, templateId: 'base', limits: testLimits, envdEnv: bootEnv(id, {}) });
    };
    const [a, b, c] = [await server('a'), await server('b'), await server('c')];
    // Concurrent: one of them makes it (under the template's lock), the other waits and uses it.
    const [ia, ib] = await Promise.all([
      a.ensureReadySnapshot('base', testLimits),
      b.ensureReadySnapshot('base', testLimits),
    ]);
    assert.equal(ia.key, ib.key);
    assert.deepEqual([ia.made, ib.made].sort(), [false, true], 'exactly one of the two made the snapshot');
    const keys = (await fs.readdir(path.join(shared, 'base'))).filter((n) => !n.startsWith('.'));
    assert.deepEqual(keys, [ia.key], 'one snapshot in the store, no work dir left');
    assert.equal((await fs.stat(shared)).mode & 0o777, 0o700, 'the store is root-only');
    const dir = path.join(shared, 'base', ia.key);
    const record = await readSnapshotRecord(dir);
    const mtime = (await fs.stat(path.join(dir, 'snapshot.json'))).mtimeMs;
    // A third runtime finds it current and makes none.
    const ic = await c.ensureReadySnapshot('base', testLimits);
    assert.equal(ic.made, false);
    assert.deepEqual(await readSnapshotRecord(dir), record, 'the snapshot is the one made before');
    assert.equal((await fs.stat(path.join(dir, 'snapshot.json'))).mtimeMs, mtime);
    for (const runtime of [a, b, c]) {
      const sandbox = await create(runtime);
      assert.equal(sandbox.from, 'snapshot');
      assert.equal((await fetch(`http://${sandbox.address}:${sandbox.envdPort}/health`)).status, 204);
    }

    // Deleted while another runtime restores it (after the restore read the record, before it
    // linked the images): that create rolls back and boots cold, and nothing of the restore is left.
    let deleted = false;
    const d = await server('d', async (step) => {
      if (step !== 'snapshot:images' || deleted) return;
      deleted = true;
      await fs.rm(dir, { recursive: true, force: true });
    });
    const cold = await create(d);
    assert.ok(deleted);
    assert.equal(cold.from, 'cold');
    assert.equal((await fetch(`http://${cold.address}:${cold.envdPort}/health`)).status, 204);
    assert.deepEqual(
      (await d.list()).map((s) => s.sandboxId),
      [cold.sandboxId],
    );
    assert.equal(await d.readySnapshot('base', testLimits), undefined);
    // Not taken for a broken snapshot: the next ensure makes it again and creates restore it.
    assert.equal((await d.ensureReadySnapshot('base', testLimits)).made, true);
    assert.equal((await create(d)).from, 'snapshot');
    await d.kill(cold.sandboxId);
    await assertNothingLeft(path.join(work, 'd'), cold.sandboxId, { pid: cold.pid });
  },
);

test('a wait for another process making the snapshot ends on abort, and makes none', needsSandboxHost, async (t) => {
  const h = await createHarness(t);
  const dir = path.join(String(h.options.snapshotsDir), 'base');
  await fs.mkdir(dir, { recursive: true });
  // Held by a live process (this one stands in for another server making the snapshot).
  await fs.writeFile(path.join(dir, '.lock'), String(process.pid));
  await assert.rejects(h.runtime.ensureReadySnapshot('base', testLimits, AbortSignal.timeout(300)), {
    name: 'TimeoutError',
  });
  assert.deepEqual(await fs.readdir(dir), ['.lock'], 'no snapshot, no work dir, no lock candidate left');
  assert.deepEqual(await h.runtime.list(), []);
});
