import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { SandboxdError, silentLogger } from '@sandboxd/common';
import type { PausedSandbox, RuntimeSandbox, SandboxEndpoint, SandboxRuntime, SandboxSpec } from '@sandboxd/runtime';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import type { Team } from '../store/store.js';
import { SandboxService } from './sandbox-service.js';

/** An in-memory runtime: this file tests lifecycle logic, not isolation (the e2e suites do that). */
class MemoryRuntime implements SandboxRuntime {
  readonly live = new Map<string, SandboxEndpoint>();
  failNextCreate = false;
  killDelayMs = 0;
  async init() {}
  async create(spec: SandboxSpec): Promise<SandboxEndpoint> {
    if (this.failNextCreate) {
      this.failNextCreate = false;
      throw new Error('injected create failure');
    }
    const endpoint = { sandboxId: spec.sandboxId, address: '10.200.0.2', envdPort: 49983, pid: 1 };
    this.live.set(spec.sandboxId, endpoint);
    return endpoint;
  }
  async kill(id: string) {
    await new Promise((r) => setTimeout(r, this.killDelayMs));
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
    return [...this.live.values()].map((e) => ({ ...e, status: 'running' as const }));
  }
  async sweep(keep: ReadonlySet<string>) {
    const swept = [...this.live.keys()].filter((id) => !keep.has(id));
    for (const id of swept) this.live.delete(id);
    return swept;
  }
  async stats() {
    return undefined;
  }
}

const team: Team = { id: 't1', name: 't1', maxConcurrentSandboxes: 3 };
const cmd = {
  templateId: 'base',
  timeoutSeconds: 60,
  metadata: {},
  envVars: {},
  secure: true,
  allowInternetAccess: true,
  autoPause: false,
};

function setup(t: { after: (fn: () => void | Promise<void>) => void }) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sandboxd-lifecycle-'));
  const store = new SqliteStore(path.join(dir, 'db.sqlite'));
  store.migrate();
  store.createTeam(team);
  const runtime = new MemoryRuntime();
  const service = new SandboxService({
    store,
    runtime,
    clock: { now: () => Date.now() },
    logger: silentLogger,
    limits: { cpuCount: 2, memoryMiB: 2048, diskSizeMiB: 10240, pids: 1024 },
    templateExists: async (id) => id === 'base',
  });
  t.after(async () => {
    await service.close();
    store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return { store, runtime, service };
}

test('create routes the sandbox; kill removes the route, notifies, and hides it', async (t) => {
  const { runtime, service } = setup(t);
  const stopped: string[] = [];
  service.onStop((id) => stopped.push(id));
  const record = await service.create(team, cmd);
  assert.equal(record.state, 'running');
  assert.ok(record.envdAccessToken, 'secure sandboxes get an envd token');
  assert.ok(service.route(record.id));
  await service.kill(team, record.id);
  assert.equal(service.route(record.id), undefined);
  assert.deepEqual(stopped, [record.id]);
  assert.equal(runtime.live.size, 0);
  assert.throws(
    () => service.get(team, record.id),
    (e: unknown) => SandboxdError.is(e) && e.code === 'SANDBOX_NOT_FOUND',
  );
  await assert.rejects(service.kill(team, record.id), /not found/);
});

test('another team cannot see or touch a sandbox', async (t) => {
  const { store, service } = setup(t);
  const other: Team = { id: 't2', name: 't2', maxConcurrentSandboxes: 3 };
  store.createTeam(other);
  const record = await service.create(team, cmd);
  assert.throws(() => service.get(other, record.id), /not found/);
  await assert.rejects(service.kill(other, record.id), /not found/);
  await assert.rejects(service.setTimeout(other, record.id, 10), /not found/);
});

test('a failed create leaves the sandbox killed and the error typed', async (t) => {
  const { runtime, service, store } = setup(t);
  runtime.failNextCreate = true;
  await assert.rejects(service.create(team, cmd), (e: unknown) => SandboxdError.is(e) && e.code === 'RUNTIME_FAILED');
  assert.equal(store.countActiveSandboxes(team.id), 0);
  await assert.rejects(service.create(team, { ...cmd, templateId: 'nope' }), /template 'nope' not found/);
});

test('the concurrent-sandbox limit is enforced per team', async (t) => {
  const { service } = setup(t);
  for (let i = 0; i < 3; i++) await service.create(team, cmd);
  await assert.rejects(
    service.create(team, cmd),
    (e: unknown) => SandboxdError.is(e) && e.code === 'CAPACITY_EXHAUSTED',
  );
});

test('setTimeout may shorten; connect only extends', async (t) => {
  const { service } = setup(t);
  const record = await service.create(team, { ...cmd, timeoutSeconds: 600 });
  await service.setTimeout(team, record.id, 30);
  const shortened = service.get(team, record.id).endAt - Date.now();
  assert.ok(shortened <= 30_000 && shortened > 25_000);
  await service.connect(team, record.id, 10);
  assert.ok(service.get(team, record.id).endAt - Date.now() > 25_000, 'connect did not shorten');
  await service.connect(team, record.id, 120);
  assert.ok(service.get(team, record.id).endAt - Date.now() > 110_000, 'connect extended');
});

test('expiry kills at the deadline; concurrent kill and setTimeout never corrupt state', async (t) => {
  const { runtime, service, store } = setup(t);
  const a = await service.create(team, { ...cmd, timeoutSeconds: 1 });
  const b = await service.create(team, cmd);
  runtime.killDelayMs = 20;
  const results = await Promise.allSettled([
    service.kill(team, b.id),
    service.setTimeout(team, b.id, 100),
    service.kill(team, b.id),
    service.connect(team, b.id, 100),
  ]);
  assert.equal(results[0].status, 'fulfilled');
  assert.equal(store.getSandbox(b.id)?.state, 'killed');
  assert.ok(
    results.slice(1).every((r) => r.status === 'rejected'),
    'later operations see a killed sandbox',
  );
  await new Promise((r) => setTimeout(r, 1_500));
  assert.equal(store.getSandbox(a.id)?.state, 'killed');
  assert.equal(runtime.live.size, 0);
});

test('reconcile re-adopts running sandboxes and sweeps the rest', async (t) => {
  const { runtime, service, store } = setup(t);
  const kept = await service.create(team, cmd);
  const lost = await service.create(team, cmd);
  runtime.live.delete(lost.id);
  runtime.live.set('orphan0000000000', { sandboxId: 'orphan0000000000', address: 'x', envdPort: 1, pid: 1 });
  const result = await service.reconcile();
  assert.deepEqual(result.adopted, [kept.id]);
  assert.deepEqual(result.lost, [lost.id]);
  assert.deepEqual(result.swept, ['orphan0000000000']);
  assert.equal(store.getSandbox(lost.id)?.state, 'killed');
});
