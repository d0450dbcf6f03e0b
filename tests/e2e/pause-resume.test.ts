import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { needsSandboxHost } from '@sandboxd/runtime/testing';
import { Sandbox, SandboxNotFoundError } from 'e2b';
import { settledHostResources } from '../support/host-resources.js';
import { startTestServer, type TestServer } from '../support/server-harness.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A Python process that holds a random secret in memory and counts the requests it served. */
const holder = `import http.server, os, secrets
secret = secrets.token_hex(16)
hits = 0
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        global hits
        hits += 1
        body = f"{os.getpid()} {secret} {hits}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", 8000), H).serve_forever()
`;

interface Held {
  pid: number;
  secret: string;
  hits: number;
}

async function startHolder(sbx: Sandbox): Promise<void> {
  await sbx.files.write('/home/user/holder.py', holder);
  await sbx.commands.run('python3 /home/user/holder.py', { background: true, timeoutMs: 0 });
  await sbx.commands.run(
    'for i in $(seq 100); do curl -sf 127.0.0.1:8000/ready >/dev/null && exit 0; sleep 0.05; done; exit 1',
  );
}

async function readHolder(sbx: Sandbox): Promise<Held> {
  const [pid, secret, hits] = (await sbx.commands.run('curl -sf 127.0.0.1:8000/')).stdout.split(' ');
  return { pid: Number(pid), secret: secret ?? '', hits: Number(hits) };
}

async function waitForState(id: string, state: 'paused' | 'running', ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if ((await Sandbox.getInfo(id)).state === state) return;
    await sleep(100);
  }
  throw new Error(`sandbox ${id} did not become ${state} within ${ms} ms`);
}

// Issue #5 acceptance, through the official SDK against real sandboxes and real CRIU.
describe('pause and resume with full memory state', needsSandboxHost, () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
    server.useForE2b();
  });
  after(() => server?.stop());

  test('a Python process keeps its pid and in-memory value; files survive; same id', async (t) => {
    const sbx = await Sandbox.create({ timeoutMs: 120_000 });
    t.after(() => Sandbox.kill(sbx.sandboxId));
    await sbx.files.write('/home/user/before.txt', 'written before the pause');
    await startHolder(sbx);
    const before = await readHolder(sbx);

    assert.equal(await sbx.pause(), true);
    const info = await Sandbox.getInfo(sbx.sandboxId);
    assert.equal(info.state, 'paused', 'getInfo works while paused');
    const paused = await Sandbox.list({ query: { state: ['paused'] } }).nextItems();
    assert.ok(
      paused.some((s) => s.sandboxId === sbx.sandboxId),
      'list reports it paused',
    );
    assert.equal(await sbx.isRunning(), false, 'envd answers 502 while paused');
    assert.equal(await sbx.pause(), false, 'pausing a paused sandbox: 409, which the SDK reads as false');

    const resumed = await Sandbox.connect(sbx.sandboxId);
    assert.equal(resumed.sandboxId, sbx.sandboxId);
    const after = await readHolder(resumed);
    assert.deepEqual(after, { ...before, hits: before.hits + 1 }, 'same pid, same secret, one more hit');
    assert.equal(await resumed.files.read('/home/user/before.txt'), 'written before the pause');
    const again = await Sandbox.getInfo(sbx.sandboxId);
    assert.equal(again.state, 'running');
    const ttl = again.endAt.getTime() - Date.now();
    assert.ok(ttl > 290_000 && ttl <= 300_000, `a new timeout starts at resume (${ttl} ms)`);
  });

  test('a sandbox that never ran a command before its pause runs one after the resume', async (t) => {
    // Regression: envd aborted at its first wasm compile after a restore (V8's PKU-guarded wasm
    // code space is not restorable); a sandbox that had run a command before had compiled it.
    const sbx = await Sandbox.create({ timeoutMs: 120_000 });
    t.after(() => Sandbox.kill(sbx.sandboxId));
    assert.equal(await sbx.pause(), true);
    const resumed = await Sandbox.connect(sbx.sandboxId);
    assert.equal((await resumed.commands.run('echo after')).stdout, 'after\n');
    assert.equal(await resumed.pause(), true, 'and it can pause again');
    assert.equal((await (await Sandbox.connect(sbx.sandboxId)).commands.run('echo again')).stdout, 'again\n');
  });

  test('a disk-only pause keeps the files and boots afresh', async (t) => {
    const sbx = await Sandbox.create({ timeoutMs: 120_000 });
    t.after(() => Sandbox.kill(sbx.sandboxId));
    await sbx.files.write('/home/user/disk.txt', 'on disk');
    await startHolder(sbx);
    assert.equal(await sbx.pause({ keepMemory: false }), true);
    const resumed = await Sandbox.connect(sbx.sandboxId);
    assert.equal(await resumed.files.read('/home/user/disk.txt'), 'on disk');
    const ps = await resumed.commands.run("pgrep -f 'python3 /home/user/holde[r]' || echo none");
    assert.equal(ps.stdout.trim(), 'none', 'processes did not survive a disk-only pause');
    assert.equal((await resumed.commands.run('echo fresh')).stdout, 'fresh\n');
  });

  test('auto-pause on timeout: listed as paused, connect brings it back with its memory', async (t) => {
    const sbx = await Sandbox.create({ timeoutMs: 3_000, lifecycle: { onTimeout: 'pause' } });
    t.after(() => Sandbox.kill(sbx.sandboxId));
    assert.deepEqual((await sbx.getInfo()).lifecycle, { onTimeout: 'pause', autoResume: false });
    await startHolder(sbx);
    const before = await readHolder(sbx);
    await waitForState(sbx.sandboxId, 'paused');
    const paused = await Sandbox.list({ query: { state: ['paused'] } }).nextItems();
    assert.ok(paused.some((s) => s.sandboxId === sbx.sandboxId));
    assert.equal(await sbx.isRunning(), false, 'no traffic wakes it without autoResume');
    const back = await Sandbox.connect(sbx.sandboxId, { timeoutMs: 60_000 });
    const after = await readHolder(back);
    assert.equal(after.secret, before.secret);
    assert.equal(after.pid, before.pid);
  });

  test('autoResume: traffic through the proxy wakes a paused sandbox', async (t) => {
    const sbx = await Sandbox.create({ timeoutMs: 3_000, lifecycle: { onTimeout: 'pause', autoResume: true } });
    t.after(() => Sandbox.kill(sbx.sandboxId));
    await startHolder(sbx);
    const before = await readHolder(sbx);
    await waitForState(sbx.sandboxId, 'paused');
    assert.equal(await sbx.isRunning(), true, 'the /health probe itself woke it');
    assert.equal((await Sandbox.getInfo(sbx.sandboxId)).state, 'running');
    assert.equal((await readHolder(sbx)).secret, before.secret);
  });

  test('20 pause/resume cycles lose nothing: files and memory checked after each', { timeout: 240_000 }, async (t) => {
    const sbx = await Sandbox.create({ timeoutMs: 600_000 });
    t.after(() => Sandbox.kill(sbx.sandboxId));
    await startHolder(sbx);
    const first = await readHolder(sbx);
    let handle = sbx;
    let hits = first.hits;
    const hash = createHash('sha256');
    for (let cycle = 1; cycle <= 20; cycle++) {
      const chunk = randomBytes(64 * 1024);
      hash.update(chunk);
      await handle.files.write(
        `/home/user/cycles/${cycle}.bin`,
        chunk.buffer.slice(chunk.byteOffset, chunk.byteOffset + chunk.byteLength),
      );
      assert.equal(await handle.pause(), true, `cycle ${cycle}: paused`);
      handle = await Sandbox.connect(sbx.sandboxId, { timeoutMs: 600_000 });
      const held = await readHolder(handle);
      hits += 1;
      assert.deepEqual(held, { pid: first.pid, secret: first.secret, hits: hits + 0 }, `cycle ${cycle}: memory intact`);
      hits = held.hits;
      const sum = await handle.commands.run(
        `cat $(for i in $(seq ${cycle}); do echo /home/user/cycles/$i.bin; done) | sha256sum | cut -d' ' -f1`,
      );
      assert.equal(sum.stdout.trim(), hash.copy().digest('hex'), `cycle ${cycle}: every file intact`);
    }
  });

  test('pause and connect racing with kill never leave a half state', async () => {
    for (let round = 0; round < 3; round++) {
      const sbx = await Sandbox.create({ timeoutMs: 120_000 });
      const results = await Promise.allSettled([
        sbx.pause(),
        Sandbox.connect(sbx.sandboxId),
        Sandbox.kill(sbx.sandboxId),
        sbx.pause(),
      ]);
      assert.equal(results[2]?.status, 'fulfilled', `round ${round}: the kill went through`);
      for (const r of results) {
        if (r.status === 'rejected') assert.ok(r.reason instanceof SandboxNotFoundError, String(r.reason));
      }
      await assert.rejects(Sandbox.getInfo(sbx.sandboxId), SandboxNotFoundError);
      const left = await settledHostResources(server.dataDir, [sbx.sandboxId]);
      assert.deepEqual(left.processes, [], `round ${round}: no process left`);
      assert.ok(!left.mounts.some((m) => m.includes(sbx.sandboxId)), `round ${round}: no mount left`);
      assert.equal(
        fs.existsSync(path.join(server.dataDir, 'runtime', 'sandboxes', sbx.sandboxId)),
        false,
        `round ${round}: images and disk deleted`,
      );
    }
    assert.ok(!server.logs.some((l) => l.includes('"unexpected error"')), 'no 500s');
  });
});

// Issue #5 durability: paused sandboxes survive restarts of the server and of the machine.
describe('paused sandboxes survive restarts and a reboot', needsSandboxHost, () => {
  test('SIGKILL and SIGTERM restarts, then a simulated reboot: memory and files come back', {
    timeout: 300_000,
  }, async (t) => {
    // Its own run dir: the "reboot" below wipes it, as a real one wipes /run.
    const runDir = fs.mkdtempSync(path.join('/run', 'sandboxd-e2e-reboot-'));
    const env = { SANDBOXD_WARM_POOL: '0', SANDBOXD_RUN_DIR: runDir };
    let server = await startTestServer({ env });
    t.after(async () => {
      await server.stop();
      fs.rmSync(runDir, { recursive: true, force: true });
    });
    server.useForE2b();
    const sbx = await Sandbox.create({ timeoutMs: 120_000 });
    await sbx.files.write('/home/user/durable.txt', 'durable');
    await startHolder(sbx);
    const before = await readHolder(sbx);

    const restart = async (signal: NodeJS.Signals) => {
      assert.equal(await Sandbox.pause(sbx.sandboxId), true);
      await server.halt(signal);
      server = await startTestServer({ reuseDataDir: server.dataDir, apiKey: server.apiKey, env });
      server.useForE2b();
      assert.equal((await Sandbox.getInfo(sbx.sandboxId)).state, 'paused', `paused after ${signal}`);
      const back = await Sandbox.connect(sbx.sandboxId);
      assert.equal((await readHolder(back)).secret, before.secret, `memory after ${signal}`);
      assert.equal(await back.files.read('/home/user/durable.txt'), 'durable');
    };
    await restart('SIGKILL');
    await restart('SIGTERM');

    // The reboot: the server stops, then everything but the data directory goes: the run dir
    // (mount points, staged envd), runc's state and the machine-wide slot claim.
    assert.equal(await Sandbox.pause(sbx.sandboxId), true);
    await server.halt('SIGTERM');
    fs.rmSync(runDir, { recursive: true, force: true });
    fs.rmSync(path.join(server.dataDir, 'runtime', 'runc'), { recursive: true, force: true });
    const slotsDir = '/var/lib/sandboxd/slots';
    for (const file of fs.readdirSync(slotsDir)) {
      const text = fs.readFileSync(path.join(slotsDir, file), 'utf8');
      if (text.includes(sbx.sandboxId)) fs.rmSync(path.join(slotsDir, file));
    }
    server = await startTestServer({ reuseDataDir: server.dataDir, apiKey: server.apiKey, env });
    server.useForE2b();
    const back = await Sandbox.connect(sbx.sandboxId);
    const after = await readHolder(back);
    assert.equal(after.secret, before.secret, 'memory after the reboot');
    assert.equal(after.pid, before.pid, 'same pid after the reboot');
    assert.equal(await back.files.read('/home/user/durable.txt'), 'durable');
  });
});
