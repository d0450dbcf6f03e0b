import assert from 'node:assert/strict';
import { test } from 'node:test';
import { newSandboxId, SandboxdError } from '@sandboxd/common';
import { needsSandboxHost } from '../testing/host-requirements.js';
import { assertNothingLeft, createHarness, testLimits } from '../testing/runtime-fixture.js';
import { RuncRuntime } from './runc-runtime.js';

test(
  'create with an unknown template fails with TEMPLATE_NOT_FOUND and leaves nothing',
  needsSandboxHost,
  async (t) => {
    const h = await createHarness(t);
    const sandboxId = newSandboxId();
    await assert.rejects(
      h.runtime.create({ sandboxId, templateId: 'no-such-template', limits: testLimits, envdEnv: {} }),
      (err) => SandboxdError.is(err) && err.code === 'TEMPLATE_NOT_FOUND',
    );
    await assertNothingLeft(h.stateDir, sandboxId);
  },
);

test('a runc failure (missing bind-mount source) rolls back', needsSandboxHost, async (t) => {
  const h = await createHarness(t);
  const { rm } = await import('node:fs/promises');
  const runtime = new RuncRuntime({ ...h.options, initBinary: '/nonexistent/tini' });
  await rm('/nonexistent', { force: true, recursive: true });
  const sandboxId = newSandboxId();
  await assert.rejects(runtime.create({ sandboxId, templateId: 'base', limits: testLimits, envdEnv: {} }), (err) => {
    assert.ok(SandboxdError.is(err) && err.code === 'RUNTIME_FAILED');
    assert.match(String((err.cause as Error)?.message), /runc run/);
    return true;
  });
  await assertNothingLeft(h.stateDir, sandboxId);
});

test('after a simulated crash, a new runtime on the same state dir sweeps everything', needsSandboxHost, async (t) => {
  const h = await createHarness(t);
  const { endpoint, record } = await h.create();
  // The first runtime object is dropped without kill; a fresh one (as after a restart) sweeps.
  const restarted = new RuncRuntime(h.options);
  assert.deepEqual(
    (await restarted.list()).map((s) => [s.sandboxId, s.status]),
    [[endpoint.sandboxId, 'running']],
  );
  const swept = await restarted.sweep(new Set());
  assert.deepEqual(swept, [endpoint.sandboxId]);
  await assertNothingLeft(h.stateDir, endpoint.sandboxId, { pid: endpoint.pid, veth: record.veth });
  assert.deepEqual(await restarted.list(), []);
});

test('sweep keeps the sandboxes it is told to keep', needsSandboxHost, async (t) => {
  const h = await createHarness(t);
  const [kept, dropped] = await Promise.all([h.create(), h.create()]);
  const swept = await h.runtime.sweep(new Set([kept.endpoint.sandboxId]));
  assert.deepEqual(swept, [dropped.endpoint.sandboxId]);
  await assertNothingLeft(h.stateDir, dropped.endpoint.sandboxId, { veth: dropped.record.veth });
  assert.equal((await fetch(`http://${kept.endpoint.address}:49983/health`)).status, 204);
});
