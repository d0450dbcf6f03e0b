import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SandboxdError } from '@sandboxd/common';
import type { Team } from '../store/store.js';
import { createCommand, openServiceFixture, testTeam } from '../testing/service-fixture.js';

const team = testTeam;
const cmd = createCommand;

function setup(t: { after: (fn: () => void | Promise<void>) => void }, teams?: Team[]) {
  const fixture = openServiceFixture(teams ? { teams } : {});
  t.after(() => fixture.close());
  return fixture;
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
  const other: Team = { ...testTeam, id: 't2', name: 't2' };
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

test('every deadline is clamped to the team plan: runtime window counted from the start of the run', async (t) => {
  let now = 1_000_000;
  const base: Team = { ...testTeam, plan: 'base', maxRuntimeSeconds: 3600 };
  const fixture = openServiceFixture({ teams: [base], clock: { now: () => now } });
  t.after(() => fixture.close());
  const { service } = fixture;
  const record = await service.create(base, { ...cmd, timeoutSeconds: 7200 });
  assert.equal(record.endAt, 1_000_000 + 3_600_000, 'create asked for 2 h and got the 1 h plan limit');
  now += 3_000_000; // 50 min into the run
  await service.setTimeout(base, record.id, 1800);
  assert.equal(service.get(base, record.id).endAt, 1_000_000 + 3_600_000, 'setTimeout cannot pass the window');
  await service.setTimeout(base, record.id, 60);
  assert.equal(service.get(base, record.id).endAt, now + 60_000, 'shortening is still allowed');
  await service.connect(base, record.id, 3600);
  assert.equal(service.get(base, record.id).endAt, 1_000_000 + 3_600_000, 'connect extends up to the window only');
});

test('parallel creates cannot overshoot the concurrent limit, and the refusal says when to retry', async (t) => {
  const { service, store } = setup(t);
  const results = await Promise.allSettled(Array.from({ length: 8 }, () => service.create(team, cmd)));
  const fulfilled = results.filter((r) => r.status === 'fulfilled');
  assert.equal(fulfilled.length, team.maxConcurrentSandboxes);
  assert.equal(store.countActiveSandboxes(team.id), team.maxConcurrentSandboxes);
  for (const r of results) {
    if (r.status === 'rejected') {
      assert.ok(SandboxdError.is(r.reason) && r.reason.code === 'CAPACITY_EXHAUSTED');
      assert.equal(r.reason.retryAfterSeconds, 1);
    }
  }
});

test('metadata updates are team-scoped, recorded, and seen by get and list', async (t) => {
  const { service } = setup(t, [testTeam, { ...testTeam, id: 't2', name: 't2' }]);
  const record = await service.create(team, { ...cmd, metadata: { a: '1' } });
  const updated = await service.updateMetadata(team, record.id, (m) => ({ ...m, b: '2' }));
  assert.deepEqual(updated.metadata, { a: '1', b: '2' });
  assert.deepEqual(service.get(team, record.id).metadata, { a: '1', b: '2' });
  const listed = service.list({ teamId: team.id, states: ['running'], metadata: { b: '2' }, order: 'desc', limit: 10 });
  assert.deepEqual(
    listed.map((r) => r.id),
    [record.id],
  );
  await assert.rejects(
    service.updateMetadata({ ...testTeam, id: 't2' }, record.id, () => ({})),
    /not found/,
  );
  assert.deepEqual(
    service.events.history(team, record.id, { limit: 10 }).map((e) => e.type),
    ['created', 'running', 'metadata-updated'],
  );
});

test('event subscribers get their own team’s events with seqs, in order, and hear the close', async (t) => {
  const other: Team = { ...testTeam, id: 't2', name: 't2' };
  const fixture = openServiceFixture({ teams: [testTeam, other] });
  const { service } = fixture;
  const seen: Array<[string, number]> = [];
  let closed = false;
  const unsubscribe = service.events.subscribe(
    team,
    (e) => seen.push([e.type, e.seq]),
    () => {
      closed = true;
    },
  );
  const mine = await service.create(team, cmd);
  await service.create(other, cmd);
  await service.kill(team, mine.id);
  assert.deepEqual(
    seen.map(([type]) => type),
    ['created', 'running', 'killed'],
  );
  assert.ok(
    seen.every(([, seq], i) => i === 0 || seq > (seen[i - 1]?.[1] ?? 0)),
    'seqs increase',
  );
  unsubscribe();
  await fixture.close();
  assert.equal(closed, false, 'an unsubscribed listener is not called at close');
  const late = openServiceFixture();
  t.after(() => late.close());
  late.service.events.subscribe(
    team,
    () => {},
    () => {
      closed = true;
    },
  );
  await late.close();
  assert.equal(closed, true);
});

test('a graceful close signals a running sandbox first and records its kill as a close; other teams cannot', async (t) => {
  const { runtime, service } = setup(t);
  const other: Team = { ...testTeam, id: 't2', name: 't2' };
  const running = await service.create(team, cmd);
  await assert.rejects(service.closeSandbox(other, running.id, 2000), /not found/);
  assert.equal(runtime.live.size, 1, 'another team closed nothing');

  await service.closeSandbox(team, running.id, 2000);
  assert.deepEqual(runtime.terminations, [{ id: running.id, graceMs: 2000 }]);
  assert.equal(runtime.live.size, 0);
  const killed = service.events.history(team, running.id, { limit: 10 }).at(-1);
  assert.equal(killed?.type, 'killed');
  assert.equal(killed?.detail, 'closed');
  await assert.rejects(service.closeSandbox(team, running.id, 2000), /not found/, 'a second close finds it gone');

  const paused = await service.create(team, cmd);
  await service.pause(team, paused.id, { memory: true });
  await service.closeSandbox(team, paused.id, 2000);
  assert.equal(runtime.terminations.length, 1, 'a paused sandbox has nothing to signal and is not resumed');
  assert.equal(runtime.paused.size, 0);
});

test('a sandbox whose container stopped by itself is killed with cause error; paused and running ones are left', async (t) => {
  const { runtime, service, store } = setup(t);
  const dead = await service.create(team, cmd);
  const alive = await service.create(team, cmd);
  const paused = await service.create(team, cmd);
  await service.pause(team, paused.id, { memory: true });
  runtime.live.delete(dead.id); // as if envd was killed inside and tini exited with it
  runtime.stopped.add(dead.id);
  runtime.live.delete(alive.id); // missing from a listing, but its container is not stopped: kept
  await service.checkForExits();
  assert.equal(store.getSandbox(dead.id)?.state, 'killed');
  assert.equal(service.route(dead.id), undefined);
  const last = service.events.history(team, dead.id, { limit: 10 }).at(-1);
  assert.deepEqual([last?.type, last?.cause], ['killed', 'error']);
  assert.equal(store.getSandbox(alive.id)?.state, 'running');
  assert.equal(store.getSandbox(paused.id)?.state, 'paused');
});

test('a teardown that could not finish is retried by the server itself, without a second kill call', async (t) => {
  const { runtime, service, store } = setup(t);
  const record = await service.create(team, cmd);
  runtime.failKills = 1;
  await assert.rejects(
    service.kill(team, record.id),
    (e: unknown) => SandboxdError.is(e) && e.code === 'KILL_INCOMPLETE',
  );
  assert.equal(store.getSandbox(record.id)?.state, 'killing');
  for (let i = 0; i < 60 && store.getSandbox(record.id)?.state !== 'killed'; i++) {
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(store.getSandbox(record.id)?.state, 'killed');
});
