import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLogger, SandboxdError, silentLogger } from '@sandboxd/common';
import type { PausedSandbox, RuntimeSandbox, SandboxEndpoint, SandboxRuntime, SandboxSpec } from '@sandboxd/runtime';
import { WarmPool } from './warm-pool.js';
import { WarmPools } from './warm-pools.js';

/** Pool logic only: an in-memory runtime (the e2e warm-pool test runs real sandboxes). */
class CountingRuntime implements SandboxRuntime {
  readonly live = new Set<string>();
  /** Template of every sandbox started, by id. */
  readonly templates = new Map<string, string>();
  creates = 0;
  failing = false;
  /** Templates whose starts fail. */
  readonly failingTemplates = new Set<string>();
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
    if (this.failing || this.failingTemplates.has(spec.templateId)) throw new Error('injected failure');
    this.live.add(spec.sandboxId);
    this.templates.set(spec.sandboxId, spec.templateId);
    return { sandboxId: spec.sandboxId, address: '10.200.0.2', envdPort: 49983, pid: 1 };
  }
  async terminate() {
    return { signalled: 0, left: 0 };
  }
  async hasStopped() {
    return false;
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

const liveOf = (runtime: CountingRuntime, templateId: string) =>
  [...runtime.live].filter((id) => runtime.templates.get(id) === templateId).length;

test('one pool per template: each fills to its own size and refills only itself after a take', async () => {
  const runtime = new CountingRuntime();
  const pools = new WarmPools({
    sizes: { base: 2, 'code-interpreter-v1': 1, unused: 0 },
    limits,
    runtime,
    logger: silentLogger,
    templateBuild: async () => 'b1',
  });
  assert.deepEqual(pools.templateIds(), ['base', 'code-interpreter-v1'], 'a size of 0 has no pool');
  pools.fill();
  await settle();
  assert.deepEqual(pools.readyCounts(), [
    { templateId: 'base', ready: 2 },
    { templateId: 'code-interpreter-v1', ready: 1 },
  ]);
  const taken = await pools.take('code-interpreter-v1');
  assert.ok(taken);
  assert.equal(runtime.templates.get(taken.endpoint.sandboxId), 'code-interpreter-v1', 'taken from its own pool');
  assert.equal(await pools.take('unused'), undefined, 'a template without a pool gets nothing');
  assert.equal(pools.readyCounts()[0]?.ready, 2, 'the other pool is untouched');
  await settle();
  assert.equal(liveOf(runtime, 'code-interpreter-v1'), 2, 'refilled: one handed out, one new');
  assert.equal(liveOf(runtime, 'base'), 2, 'base started nothing more');
  await pools.close();
  assert.deepEqual([...runtime.live], [taken.endpoint.sandboxId], 'close kills every pool, not what was handed out');
  await assert.rejects(pools.take('base'), (err) => SandboxdError.is(err) && err.code === 'SHUTTING_DOWN');
});

test('a pool whose template is not built stays idle with one warning, and fills once it exists', async (t) => {
  const runtime = new CountingRuntime();
  const built = new Set(['base']);
  const lines: string[] = [];
  const logger = createLogger({ write: (line) => lines.push(line) });
  const lookups: string[] = [];
  const pools = new WarmPools({
    sizes: { base: 1, later: 1 },
    limits,
    runtime,
    logger,
    templateBuild: async (id) => {
      lookups.push(id);
      return built.has(id) ? 'b1' : undefined;
    },
    missingTemplatePollMs: 5_000,
  });
  t.after(() => pools.close());
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const step = async (ms: number) => {
    t.mock.timers.tick(ms);
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  };
  pools.fill();
  for (let i = 0; i < 20; i++) await step(10);
  assert.equal(liveOf(runtime, 'base'), 1, 'base fills');
  assert.equal(liveOf(runtime, 'later'), 0);
  assert.equal(runtime.templates.size, 1, 'no start was tried for the missing template');
  assert.equal(lookups.filter((id) => id === 'later').length, 1, 'it does not spin while it waits');
  await step(5_000);
  await step(5_000);
  assert.equal(lookups.filter((id) => id === 'later').length, 3, 'it looks again each poll interval');
  const warnings = lines.map((l) => JSON.parse(l)).filter((l) => l.level === 'warn');
  assert.equal(warnings.length, 1, 'warned once, not at every poll');
  assert.equal(warnings[0].templateId, 'later', 'the warning names the template');
  built.add('later');
  await step(5_000);
  for (let i = 0; i < 5; i++) await step(10);
  assert.equal(liveOf(runtime, 'later'), 1, 'it fills once the template is built');
});

test("one template's failing starts pause its own pool only", async (t) => {
  const runtime = new CountingRuntime();
  runtime.failingTemplates.add('broken');
  const pools = new WarmPools({
    sizes: { base: 2, broken: 2 },
    limits,
    runtime,
    logger: silentLogger,
    templateBuild: async () => 'b1',
  });
  t.after(() => pools.close());
  t.mock.timers.enable({ apis: ['setTimeout'] });
  pools.fill();
  for (let i = 0; i < 10; i++) {
    t.mock.timers.tick(10);
    for (let j = 0; j < 5; j++) await new Promise((r) => setImmediate(r));
  }
  assert.equal(runtime.creates, 5, 'two for base, three attempts for broken, then its pause');
  assert.deepEqual(pools.readyCounts(), [
    { templateId: 'base', ready: 2 },
    { templateId: 'broken', ready: 0 },
  ]);
  await pools.take('base');
  for (let i = 0; i < 5; i++) {
    t.mock.timers.tick(10);
    for (let j = 0; j < 5; j++) await new Promise((r) => setImmediate(r));
  }
  assert.equal(pools.readyCounts()[0]?.ready, 2, 'base refills while broken is paused');
  assert.equal(runtime.creates, 6);
});

test('after a rebuild of its template, a pool hands out no sandbox of the old build and refills on the new', async () => {
  const runtime = new CountingRuntime();
  let build = 'b1';
  const pools = new WarmPools({
    sizes: { base: 2 },
    limits,
    runtime,
    logger: silentLogger,
    templateBuild: async () => build,
  });
  pools.fill();
  await settle();
  const old = [...runtime.live];
  assert.equal(old.length, 2);
  build = 'b2';
  assert.equal(await pools.take('base'), undefined, 'both were of the old build: the create starts cold');
  await settle();
  await settle();
  assert.ok(
    old.every((id) => !runtime.live.has(id)),
    'the old build is killed',
  );
  assert.equal(pools.readyCounts()[0]?.ready, 2, 'refilled on the new build');
  const fresh = await pools.take('base');
  assert.ok(fresh && !old.includes(fresh.endpoint.sandboxId));
  assert.equal(fresh.build, 'b2');
  await pools.close();
});
