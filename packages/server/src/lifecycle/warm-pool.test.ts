import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SandboxdError, silentLogger } from '@sandboxd/common';
import type { PausedSandbox, RuntimeSandbox, SandboxEndpoint, SandboxRuntime, SandboxSpec } from '@sandboxd/runtime';
import { WarmPool } from './warm-pool.js';

/** Pool logic only: an in-memory runtime (the e2e warm-pool test runs real sandboxes). */
class CountingRuntime implements SandboxRuntime {
  readonly live = new Set<string>();
  creates = 0;
  failing = false;
  async init() {}
  /** How long a create takes; an abort ends it early, rolled back, as the runc runtime does. */
  createMs = 5;
  async create(spec: SandboxSpec, signal?: AbortSignal): Promise<SandboxEndpoint> {
    this.creates++;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(resolve, this.createMs);
      signal?.addEventListener(
        'abort',
        () => {
          clearTimeout(timer);
          reject(signal.reason);
        },
        { once: true },
      );
    });
    if (this.failing) throw new Error('injected failure');
    this.live.add(spec.sandboxId);
    return { sandboxId: spec.sandboxId, address: '10.200.0.2', envdPort: 49983, pid: 1 };
  }
  async kill(id: string) {
    this.live.delete(id);
  }
  // Pause/resume are the lifecycle's phase 2 (#5); these tests never call them.
  async pause(): Promise<PausedSandbox> {
    throw new Error('pause is not used by these tests');
  }
  async resume(): Promise<SandboxEndpoint> {
    throw new Error('resume is not used by these tests');
  }
  async list(): Promise<RuntimeSandbox[]> {
    return [];
  }
  async sweep() {
    return [];
  }
  async stats() {
    return undefined;
  }
}

const limits = { cpuCount: 2, memoryMiB: 2048, diskSizeMiB: 10240, pids: 1024 };
const settle = () => new Promise((r) => setTimeout(r, 60));

test('the pool fills to its size, hands out sandboxes, refills, and close kills what waits', async () => {
  const runtime = new CountingRuntime();
  const pool = new WarmPool({ size: 2, templateId: 'base', limits, runtime, logger: silentLogger });
  pool.fill();
  await settle();
  assert.equal(runtime.live.size, 2);
  const taken = pool.take();
  assert.ok(taken && taken.initToken.length >= 16, 'each pooled sandbox has its own init secret');
  await settle();
  assert.equal(runtime.live.size, 3, 'refilled after a take');
  await pool.close();
  assert.deepEqual([...runtime.live], [taken.endpoint.sandboxId], 'only the handed-out sandbox survives close');
  pool.fill();
  await settle();
  assert.equal(runtime.live.size, 1, 'a closed pool starts nothing');
});

test('repeated failures pause the pool instead of spinning, then it tries again', async (t) => {
  const runtime = new CountingRuntime();
  runtime.failing = true;
  const pool = new WarmPool({ size: 2, templateId: 'base', limits, runtime, logger: silentLogger });
  t.after(() => pool.close());
  t.mock.timers.enable({ apis: ['setTimeout'] });
  pool.fill();
  for (let i = 0; i < 6; i++) {
    t.mock.timers.tick(10);
    await new Promise((r) => setImmediate(r));
  }
  assert.equal(runtime.creates, 3, 'three attempts, then a pause');
  runtime.failing = false;
  t.mock.timers.tick(30_000);
  for (let i = 0; i < 6; i++) {
    t.mock.timers.tick(10);
    await new Promise((r) => setImmediate(r));
  }
  assert.ok(runtime.creates > 3, 'it tried again after the pause');
  assert.ok(runtime.live.size >= 1);
});

test('close aborts a start under way, is idempotent, and refuses work afterwards', async () => {
  const runtime = new CountingRuntime();
  runtime.createMs = 60_000;
  const pool = new WarmPool({ size: 2, templateId: 'base', limits, runtime, logger: silentLogger });
  pool.fill();
  assert.equal(runtime.creates, 1, 'a start is under way');
  const closing = pool.close();
  assert.equal(pool.close(), closing, 'a second close joins the first');
  await closing;
  assert.equal(runtime.live.size, 0, 'the aborted start left nothing');
  assert.equal(pool.readyCount(), 0);
  assert.throws(
    () => pool.take(),
    (err) => SandboxdError.is(err) && err.code === 'SHUTTING_DOWN',
  );
});

test('a start that completes while the pool closes is killed, not kept', async () => {
  const runtime = new CountingRuntime();
  // Ignores the abort, as a create past its last abortable step does.
  const create = runtime.create.bind(runtime);
  runtime.create = (spec) => create(spec);
  const pool = new WarmPool({ size: 1, templateId: 'base', limits, runtime, logger: silentLogger });
  pool.fill();
  await pool.close();
  assert.equal(runtime.creates, 1);
  assert.equal(runtime.live.size, 0, 'killed once it was up');
});

test('readyCount counts only started sandboxes', async () => {
  const runtime = new CountingRuntime();
  const pool = new WarmPool({ size: 2, templateId: 'base', limits, runtime, logger: silentLogger });
  pool.fill();
  assert.equal(pool.readyCount(), 0, 'starting is not ready');
  await settle();
  assert.equal(pool.readyCount(), 2);
  await pool.close();
  assert.equal(pool.readyCount(), 0);
});
