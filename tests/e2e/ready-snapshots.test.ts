import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Sandbox } from '@e2b/code-interpreter';
import { startTestServer, type TestServer } from '../support/server-harness.js';
import { needsTemplates } from '../support/template-requirements.js';

// Ready snapshots with the official client: code-interpreter-v1 is snapshotted once per machine
// (its Jupyter kernels warm) by `sandboxd setup` or the first server that finds none, into the
// machine's store; every Sandbox.create() restores it into a new sandbox. These tests use the
// machine's store as servers do (the snapshot is of the machine's template, default limits).
describe('code-interpreter-v1 from its ready snapshot', await needsTemplates('code-interpreter-v1'), () => {
  let server: TestServer;
  const sandboxes: Sandbox[] = [];
  before(async () => {
    server = await startTestServer();
    server.useForE2b();
    for (let i = 0; i < 600 && !server.logs.some((l) => l.includes('ready snapshots current')); i++) await sleep(100);
    const made = server.logs.some((l) => l.includes('ready snapshots current'));
    assert.ok(made, `the server made its ready snapshot:\n${server.logs.filter((l) => /snapshot/.test(l)).join('\n')}`);
  });
  after(async () => {
    await Promise.allSettled(sandboxes.map((s) => s.kill()));
    await server?.stop();
  });

  test('two sandboxes restored from one snapshot each run code with their own env, ids and fresh randomness', async () => {
    const [a, b] = await Promise.all([
      Sandbox.create({ envs: { WHO: 'a' }, timeoutMs: 120_000 }),
      Sandbox.create({ envs: { WHO: 'b' }, timeoutMs: 120_000 }),
    ]);
    sandboxes.push(a, b);
    assert.notEqual(a.sandboxId, b.sandboxId);
    const created = server.logs.filter((l) => l.includes('"sandbox created"') && l.includes('"from":"snapshot"'));
    assert.ok(
      created.some((l) => l.includes(a.sandboxId)),
      'a was restored from the snapshot',
    );
    assert.ok(
      created.some((l) => l.includes(b.sandboxId)),
      'b was restored from the snapshot',
    );

    assert.equal((await a.runCode('1+1')).text, '2');
    const probe = [
      'import json, os, random, numpy',
      "print(json.dumps([os.environ.get('WHO'), random.random(), float(numpy.random.random()), os.urandom(8).hex(),",
      " open('/proc/sys/kernel/random/boot_id').read().strip(), open('/etc/machine-id').read().strip()]))",
    ].join('\n');
    const [ra, rb] = await Promise.all([a.runCode(probe), b.runCode(probe)]);
    assert.equal(ra.error, undefined, ra.error?.traceback);
    const [fa, fb] = [ra, rb].map((r) => JSON.parse(r.logs.stdout.join('')) as unknown[]);
    assert.equal(fa?.[0], 'a');
    assert.equal(fb?.[0], 'b');
    for (const [i, name] of ['random', 'numpy', 'urandom', 'boot id', 'machine id'].entries()) {
      assert.notEqual(fa?.[i + 1], fb?.[i + 1], `${name} differs between the two copies`);
    }

    // envd is each one's own: commands with its env, and a file written in one is not in the other.
    assert.equal((await a.commands.run('echo $WHO')).stdout, 'a\n');
    await a.files.write('/home/user/only-a.txt', 'a');
    assert.equal(await b.files.exists('/home/user/only-a.txt'), false);

    // Killing one leaves the other working.
    await a.kill();
    assert.equal((await b.runCode('21*2')).text, '42');

    // A restored sandbox pauses and resumes with its memory, like any other (its kernel's state too).
    await b.runCode('kept = 7');
    assert.equal(await b.pause(), true);
    const resumed = await Sandbox.connect(b.sandboxId);
    assert.equal((await resumed.runCode('kept * 6')).text, '42');
    assert.equal((await resumed.commands.run('echo $WHO')).stdout, 'b\n');

    const metrics = await (await server.api('GET', '/metrics')).text();
    assert.match(metrics, /sandboxd_runtime_create_seconds_count\{from="snapshot"\} [1-9]/);
  });

  test('another server with its own data dir uses the machine snapshot and makes none', async () => {
    const second = await startTestServer();
    try {
      const current = async () => {
        for (let i = 0; i < 600; i++) {
          const line = second.logs.find((l) => l.includes('ready snapshots current'));
          if (line) return JSON.parse(line) as { templates: string[]; made: string[] };
          await sleep(100);
        }
        throw new Error(`no ready snapshots line:\n${second.logs.join('\n')}`);
      };
      const line = await current();
      assert.ok(line.templates.includes('code-interpreter-v1'));
      assert.deepEqual(line.made, [], 'found current in the machine store');
      assert.equal(
        second.logs.some((l) => l.includes('"ready snapshot made"') || l.includes('"sandbox created"')),
        false,
        'no snapshot sandbox was booted',
      );
      const res = await second.api('POST', '/v2/sandboxes', { templateID: 'code-interpreter-v1', timeout: 60 });
      assert.equal(res.status, 201, await res.clone().text());
      const { sandboxID } = (await res.json()) as { sandboxID: string };
      assert.ok(
        second.logs.some(
          (l) => l.includes('"sandbox created"') && l.includes(sandboxID) && l.includes('"from":"snapshot"'),
        ),
        'restored from the snapshot the first server (or setup) made',
      );
    } finally {
      await second.stop();
    }
  });
});
