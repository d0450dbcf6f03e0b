import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import { test } from 'node:test';
import { needsSandboxHost } from '../testing/host-requirements.js';
import { createHarness } from '../testing/runtime-fixture.js';

const node = '/opt/sandboxd/node';

test(
  'going over the memory limit OOM-kills inside the sandbox only; the sandbox survives',
  needsSandboxHost,
  async (t) => {
    const h = await createHarness(t);
    const { endpoint } = await h.create({ memoryMiB: 128 });
    const id = endpoint.sandboxId;
    const hog = `${node} -e "const a=[];for(;;)a.push(Buffer.alloc(1<<20,1))"`;
    const { code } = await h.exec(id, hog);
    assert.equal(code, 137, 'the hog was SIGKILLed');
    const oom = await fs.readFile(`/sys/fs/cgroup/memory/sandboxd/${id}/memory.oom_control`, 'utf8');
    assert.match(oom, /oom_kill [1-9]/);
    const res = await fetch(`http://${endpoint.address}:${endpoint.envdPort}/health`);
    assert.equal(res.status, 204, 'envd (PID 1) still answers');
    assert.equal(process.memoryUsage().rss > 0, true);
  },
);

test('the pids limit makes fork fail inside the sandbox', needsSandboxHost, async (t) => {
  const h = await createHarness(t);
  const { endpoint } = await h.create({ pids: 32 });
  const id = endpoint.sandboxId;
  const { stdout, stderr } = await h.exec(id, 'for i in $(seq 1 64); do sleep 3 & done; wait; echo done');
  assert.match(stderr, /fork|Resource temporarily unavailable|retry/i, stdout);
  const events = await fs.readFile(`/sys/fs/cgroup/pids/sandboxd/${id}/pids.events`, 'utf8');
  assert.match(events, /max [1-9]/);
  const res = await fetch(`http://${endpoint.address}:${endpoint.envdPort}/health`);
  assert.equal(res.status, 204);
});
