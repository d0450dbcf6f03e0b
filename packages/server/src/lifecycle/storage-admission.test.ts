import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SandboxdError } from '@sandboxd/common';
import type { Team } from '../store/store.js';
import { createCommand, openServiceFixture, testTeam } from '../testing/service-fixture.js';
import { HostStorage, MiB } from './host-storage.js';

// Issue #12: creates and pauses are admitted against the host's free space and the team's
// limits on paused sandboxes and disk; a refusal leaves nothing behind and the sandbox as it was.
const cmd = createCommand;
const diskMiB = 10240; // the fixture's limits
const reserve = 2048 * MiB;

function setup(
  t: { after: (fn: () => void | Promise<void>) => void },
  o: { team?: Partial<Team>; free?: { bytes: number }; policy?: 'headroom' | 'strict' } = {},
) {
  const team: Team = { ...testTeam, ...o.team };
  const free = o.free ?? { bytes: 2 ** 50 };
  const fixture = openServiceFixture({
    teams: [team],
    storage: (runtime) =>
      new HostStorage({
        dir: '/unused',
        reserveBytes: reserve,
        policy: o.policy ?? 'headroom',
        readFree: async () => free.bytes,
        committedGrowth: async () => {
          let sum = 0;
          for (const id of runtime.live.keys()) {
            const use = await runtime.diskUsage(id);
            if (use) sum += use.sizeBytes - use.allocatedBytes;
          }
          return sum;
        },
      }),
  });
  t.after(() => fixture.close());
  return { ...fixture, team, free };
}

const is = (code: string, retryAfter?: number) => (e: unknown) =>
  SandboxdError.is(e) && e.code === code && e.retryAfterSeconds === retryAfter;

test('a create the host cannot hold at its full disk size is a 507 and leaves nothing behind', async (t) => {
  const { service, store, runtime, team, free } = setup(t, { free: { bytes: reserve + diskMiB * MiB - 1 } });
  await assert.rejects(service.create(team, cmd), (e: unknown) => {
    assert.ok(is('STORAGE_EXHAUSTED')(e));
    assert.match((e as Error).message, /for a new sandbox: it may write 10240 MiB/);
    return true;
  });
  assert.equal(runtime.live.size, 0, 'nothing was started');
  assert.deepEqual(store.sandboxesInStates(['creating', 'running', 'killed']), [], 'no row, not even a killed one');
  assert.deepEqual(store.teamUsage(team.id), { active: 0, paused: 0, diskMiB: 0 });
  free.bytes += 1;
  assert.equal((await service.create(team, cmd)).state, 'running', 'it fits once the host has the space');
});

test('parallel creates: each checked on its own under headroom; strict holds their disks', async (t) => {
  const room = { bytes: reserve + 1.5 * diskMiB * MiB };
  const headroom = setup(t, { free: room });
  const three = await Promise.all([1, 2, 3].map(() => headroom.service.create(headroom.team, cmd)));
  assert.ok(
    three.every((r) => r.state === 'running'),
    'as three sequential creates would',
  );
  const strict = setup(t, { free: { ...room }, policy: 'strict' });
  const results = await Promise.allSettled([1, 2, 3].map(() => strict.service.create(strict.team, cmd)));
  assert.deepEqual(
    results.map((r) => r.status),
    ['fulfilled', 'rejected', 'rejected'],
  );
  for (const r of results) if (r.status === 'rejected') assert.ok(is('STORAGE_EXHAUSTED')(r.reason));
});

test('strict admission counts what running disks may still grow by', async (t) => {
  // Room for two disks at full size: under strict the first one's growth leaves room for no second.
  const { service, team } = setup(t, { free: { bytes: reserve + 1.5 * diskMiB * MiB }, policy: 'strict' });
  await service.create(team, cmd);
  await assert.rejects(service.create(team, cmd), is('STORAGE_EXHAUSTED'));
});

test('a memory pause needs its memory in free space: refused, the sandbox runs on untouched', async (t) => {
  const { service, store, runtime, team, free } = setup(t);
  const record = await service.create(team, cmd);
  runtime.memoryBytes = 700 * MiB;
  free.bytes = reserve + 700 * MiB; // not the 64 MiB margin on top
  await assert.rejects(service.pause(team, record.id, { memory: true }), (e: unknown) => {
    assert.ok(is('STORAGE_EXHAUSTED')(e));
    assert.match((e as Error).message, /memory pause of sandbox .*: it may write 764 MiB/);
    return true;
  });
  assert.equal(runtime.pauseCalls, 0, 'the runtime was never asked to dump');
  assert.equal(store.getSandbox(record.id)?.state, 'running');
  assert.ok(service.route(record.id), 'still routed: it was never unrouted');
  assert.ok(runtime.live.has(record.id));
  assert.deepEqual(
    service.events.list(team, { limit: 10 }).map((e) => e.type),
    ['created', 'running'],
    'no pausing event: the sandbox was not touched',
  );
  // A disk-only pause writes nothing new and frees memory: it is not refused for space.
  await service.pause(team, record.id, { memory: false });
  assert.equal(store.getSandbox(record.id)?.state, 'paused');
});

test('a memory pause counts anonymous and shared memory, not the page cache CRIU does not dump', async (t) => {
  const { service, store, runtime, team, free } = setup(t);
  const record = await service.create(team, cmd);
  runtime.memoryBytes = 700 * MiB; // mostly page cache of files it wrote
  runtime.anonBytes = 100 * MiB;
  free.bytes = reserve + 163 * MiB;
  await assert.rejects(service.pause(team, record.id, { memory: true }), /it may write 164 MiB, 163 MiB is available/);
  free.bytes += 1 * MiB;
  await service.pause(team, record.id, { memory: true });
  assert.equal(store.getSandbox(record.id)?.state, 'paused');
});

test('without memory stats a memory pause is admitted against its memory limit', async (t) => {
  const { service, team, free } = setup(t);
  const record = await service.create(team, cmd);
  free.bytes = reserve + 2048 * MiB; // the fixture's 2048 MiB limit, without the margin
  await assert.rejects(service.pause(team, record.id, { memory: true }), is('STORAGE_EXHAUSTED'));
  free.bytes += 64 * MiB;
  await service.pause(team, record.id, { memory: true });
});

test("the team's paused limit: a pause over it is a 429 without Retry-After, the sandbox keeps running", async (t) => {
  const { service, store, team } = setup(t, { team: { maxPausedSandboxes: 1 } });
  const a = await service.create(team, cmd);
  const b = await service.create(team, cmd);
  await service.pause(team, a.id, { memory: true });
  await assert.rejects(service.pause(team, b.id, { memory: false }), (e: unknown) => {
    assert.ok(is('CAPACITY_EXHAUSTED', undefined)(e));
    assert.match((e as Error).message, /limit of 1 paused sandboxes/);
    return true;
  });
  assert.equal(store.getSandbox(b.id)?.state, 'running');
  assert.ok(service.route(b.id));
  await service.kill(team, a.id);
  await service.pause(team, b.id, { memory: true });
  assert.equal(store.getSandbox(b.id)?.state, 'paused', 'a freed place can be used');
});

test('parallel pauses cannot overshoot the paused limit', async (t) => {
  const { service, store, team, runtime } = setup(t, { team: { maxPausedSandboxes: 2, maxConcurrentSandboxes: 5 } });
  const ids = [];
  for (let i = 0; i < 5; i++) ids.push((await service.create(team, cmd)).id);
  runtime.pauseDelayMs = 20;
  const results = await Promise.allSettled(ids.map((id) => service.pause(team, id, { memory: true })));
  assert.equal(results.filter((r) => r.status === 'fulfilled').length, 2);
  assert.equal(store.teamUsage(team.id).paused, 2);
});

test("the team's disk limit counts running and paused sandboxes; a kill frees it", async (t) => {
  const { service, team } = setup(t, { team: { maxDiskMiB: 2 * diskMiB } });
  const a = await service.create(team, cmd);
  await service.create(team, cmd);
  await service.pause(team, a.id, { memory: false });
  await assert.rejects(service.create(team, cmd), (e: unknown) => {
    assert.ok(is('CAPACITY_EXHAUSTED', undefined)(e), 'no Retry-After: waiting frees no disk');
    assert.match((e as Error).message, /disk limit of 20480 MiB: its sandboxes \(paused ones too\) hold 20480 MiB/);
    return true;
  });
  await service.kill(team, a.id);
  await service.create(team, cmd);
});

test('a pause at the deadline refused for space follows the failed-pause rule: runs on, retried', async (t) => {
  const { service, store, team, free } = setup(t);
  const record = await service.create(team, { ...cmd, autoPause: true });
  free.bytes = reserve; // nothing fits
  await service.setTimeout(team, record.id, 0);
  const after = store.getSandbox(record.id);
  assert.equal(after?.state, 'running');
  assert.ok((after?.endAt ?? 0) > Date.now(), 'the next attempt is scheduled');
  const retry = service.events.list(team, { limit: 10 }).at(-1);
  assert.match(retry?.detail ?? '', /pause at the deadline failed \(1 of 2: not enough free disk space on the host/);
});
