import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { needsSandboxHost } from '@sandboxd/runtime/testing';
import { Sandbox } from 'e2b';
import { startTestServer, type TestServer } from '../support/server-harness.js';

// A fork bomb in one sandbox, with the server's default limits: it is held at the default task
// limit (1024; at 4096 a neighbour's commands took up to 1.5 s on a 2-core host, see
// `npm run bench -- noisy`), the neighbour keeps working, and killing the bomber ends every task.
// The latency itself is a benchmark figure, not asserted here.

const pidsDir = (id: string) => `/sys/fs/cgroup/pids/sandboxd/${id}`;
const read = (id: string, file: string) => fs.readFileSync(`${pidsDir(id)}/${file}`, 'utf8').trim();

describe('noisy neighbour: a fork bomb is contained', needsSandboxHost, () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ env: { SANDBOXD_WARM_POOL: '0' } });
    server.useForE2b();
  });
  after(() => server?.stop());

  test('the bomb stops at the default task limit, the neighbour runs commands, a kill ends it all', async (t) => {
    const victim = await Sandbox.create();
    const bomber = await Sandbox.create();
    t.after(() => Promise.all([victim.kill(), bomber.kill()]));
    assert.equal(read(bomber.sandboxId, 'pids.max'), '1024', 'the default limit');

    await bomber.commands.run("bash -c 'b() { b | b & }; b' >/dev/null 2>&1 &", { background: true, timeoutMs: 0 });
    // The bomb has hit the limit once the cgroup counts refused forks.
    let refused = 0;
    for (let i = 0; i < 100 && refused === 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      refused = Number(/max (\d+)/.exec(read(bomber.sandboxId, 'pids.events'))?.[1] ?? 0);
    }
    assert.ok(refused > 0, 'the bomb reached the limit');
    let peak = 0;
    for (let i = 0; i < 10; i++) {
      const r = await victim.commands.run('echo ok', { requestTimeoutMs: 60_000 });
      assert.equal(r.stdout, 'ok\n');
      peak = Math.max(peak, Number(read(bomber.sandboxId, 'pids.current')));
    }
    assert.ok(peak <= 1024, `held at the limit (${peak} tasks)`);
    assert.ok(peak > 512, `the bomb was really running (${peak} tasks)`);

    assert.equal(await bomber.kill(), true);
    assert.equal(fs.existsSync(pidsDir(bomber.sandboxId)), false, 'no task and no cgroup of the bomber is left');
    assert.equal((await victim.commands.run('echo still')).stdout, 'still\n');
  });
});
