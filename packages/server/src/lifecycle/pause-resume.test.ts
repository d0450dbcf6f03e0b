import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SandboxdError } from '@sandboxd/common';
import { ENVD_PORT } from '@sandboxd/protocol';
import { createCommand, openServiceFixture, testTeam } from '../testing/service-fixture.js';

const team = testTeam;
const cmd = createCommand;

function setup(t: { after: (fn: () => void | Promise<void>) => void }) {
  const fixture = openServiceFixture();
  t.after(() => fixture.close());
  return fixture;
}

const isCode = (code: string) => (e: unknown) => SandboxdError.is(e) && e.code === code;

test('pause unroutes and persists; a second pause is 409; concurrent pauses join one', async (t) => {
  const { service, runtime, store } = setup(t);
  const stopped: string[] = [];
  service.onStop((id) => stopped.push(id));
  const record = await service.create(team, cmd);
  runtime.pauseDelayMs = 30;
  await Promise.all([
    service.pause(team, record.id, { memory: true }),
    service.pause(team, record.id, { memory: true }),
  ]);
  assert.equal(runtime.pauseCalls, 1, 'the second call joined the first');
  assert.equal(store.getSandbox(record.id)?.state, 'paused');
  assert.ok(store.getSandbox(record.id)?.pausedAt);
  assert.equal(service.route(record.id), undefined);
  assert.deepEqual(stopped, [record.id]);
  await assert.rejects(service.pause(team, record.id, { memory: true }), isCode('INVALID_TRANSITION'));
  await assert.rejects(service.setTimeout(team, record.id, 10), isCode('INVALID_TRANSITION'));
  assert.equal(service.get(team, record.id).state, 'paused', 'getInfo works while paused');
  const listed = service.list({ teamId: team.id, states: ['paused'], metadata: {}, order: 'desc', limit: 10 });
  assert.deepEqual(
    listed.map((r) => r.id),
    [record.id],
  );
  assert.deepEqual(
    service.events.history(team, record.id, { limit: 10 }).map((e) => `${e.type}:${e.cause}`),
    ['created:user', 'running:user', 'pausing:user', 'paused:user'],
  );
});

test('connect resumes a paused sandbox with a new run; a running one is only extended', async (t) => {
  let now = 5_000_000;
  const fixture = openServiceFixture({ clock: { now: () => now } });
  t.after(() => fixture.close());
  const { service } = fixture;
  const record = await service.create(team, { ...cmd, timeoutSeconds: 60 });
  await service.pause(team, record.id, { memory: true });
  now += 3_600_000;
  const { record: resumed, resumed: wasPaused } = await service.connect(team, record.id, 120);
  assert.equal(wasPaused, true);
  assert.equal(resumed.state, 'running');
  assert.equal(resumed.runtimeStartedAt, now, 'the runtime window starts again');
  assert.equal(resumed.endAt, now + 120_000);
  assert.equal(resumed.id, record.id, 'same id');
  assert.ok(service.route(record.id));
  const again = await service.connect(team, record.id, 10);
  assert.equal(again.resumed, false);
  assert.equal(again.record.endAt, now + 120_000, 'not shortened');
  await assert.rejects(service.resume(team, record.id, 60), isCode('INVALID_TRANSITION'));
});

test('auto-pause at the deadline, then a wake on traffic when autoResume is set', async (t) => {
  const { service, store } = setup(t);
  const record = await service.create(team, { ...cmd, timeoutSeconds: 1, autoPause: true, autoResume: true });
  const plain = await service.create(team, { ...cmd, timeoutSeconds: 1, autoPause: true });
  for (let i = 0; i < 60 && store.getSandbox(plain.id)?.state !== 'paused'; i++)
    await new Promise((r) => setTimeout(r, 50));
  assert.equal(store.getSandbox(record.id)?.state, 'paused');
  assert.equal(store.getSandbox(plain.id)?.state, 'paused');
  assert.equal(service.events.history(team, record.id, { limit: 10 }).at(-1)?.cause, 'timeout');
  const withToken = { port: ENVD_PORT, method: 'GET', url: '/health', accessToken: record.envdAccessToken ?? '' };
  const refused = await service.wakeOnTraffic(record.id, { ...withToken, accessToken: undefined });
  assert.ok(refused && refused.code === 'UNAUTHENTICATED', 'only the sandbox id: refused');
  assert.equal(store.getSandbox(record.id)?.state, 'paused', 'and it stays paused');
  assert.ok(await service.wakeOnTraffic(record.id, { ...withToken, accessToken: 'wrong' }), 'a wrong token: refused');
  assert.equal(store.getSandbox(record.id)?.state, 'paused');
  await Promise.all([service.wakeOnTraffic(record.id, withToken), service.wakeOnTraffic(record.id, withToken)]);
  assert.equal(store.getSandbox(record.id)?.state, 'running', 'traffic woke it');
  assert.ok(service.route(record.id));
  const woken = store.getSandbox(record.id);
  assert.ok(woken && woken.endAt - Date.now() > 0 && woken.endAt - Date.now() <= 1_000, 'with its own timeout');
  await service.wakeOnTraffic(plain.id, { ...withToken, accessToken: plain.envdAccessToken ?? '' });
  assert.equal(store.getSandbox(plain.id)?.state, 'paused', 'no autoResume: stays paused');
});

test('a sandbox whose pause keeps failing at its deadline is killed after one retry, with the reason', async (t) => {
  const { service, runtime, store } = setup(t);
  runtime.refusePauses = true;
  const record = await service.create(team, { ...cmd, timeoutSeconds: 0, autoPause: true });
  for (let i = 0; i < 200 && store.getSandbox(record.id)?.state !== 'killed'; i++) {
    await new Promise((r) => setTimeout(r, 50));
  }
  const history = service.events.history(team, record.id, { limit: 20 });
  assert.deepEqual(
    history.map((e) => `${e.type}:${e.cause}`),
    [
      'created:user',
      'running:user',
      'pausing:timeout',
      'running:error',
      'timeout-set:timeout',
      'pausing:timeout',
      'running:error',
      'killed:timeout',
    ],
  );
  assert.match(
    history.at(-1)?.detail ?? '',
    /the pause at the deadline failed 2 times \(sandbox \S+ would not freeze\)/,
  );
  assert.equal(runtime.live.size, 0);
});

test('a failed resume leaves the sandbox paused; kill of a paused sandbox removes it', async (t) => {
  const { service, runtime, store } = setup(t);
  const record = await service.create(team, cmd);
  await service.pause(team, record.id, { memory: false });
  runtime.failNextResume = true;
  await assert.rejects(service.connect(team, record.id, 60), isCode('RUNTIME_FAILED'));
  assert.equal(store.getSandbox(record.id)?.state, 'paused');
  await service.kill(team, record.id);
  assert.equal(store.getSandbox(record.id)?.state, 'killed');
  assert.equal(runtime.paused.size + runtime.live.size, 0, 'images and all gone');
  await assert.rejects(service.connect(team, record.id, 60), isCode('SANDBOX_NOT_FOUND'));
});

test('pause and resume racing with kill never leave a half state', async (t) => {
  const { service, runtime, store } = setup(t);
  runtime.pauseDelayMs = 20;
  for (let round = 0; round < 5; round++) {
    const record = await service.create(team, cmd);
    const ops = [
      service.pause(team, record.id, { memory: true }),
      service.connect(team, record.id, 60),
      service.kill(team, record.id),
      service.pause(team, record.id, { memory: true }),
    ];
    const results = await Promise.allSettled(ops);
    assert.equal(results[2]?.status, 'fulfilled', 'the kill succeeds whatever came first');
    assert.equal(store.getSandbox(record.id)?.state, 'killed');
    assert.equal(runtime.live.has(record.id) || runtime.paused.has(record.id), false);
    assert.equal(service.route(record.id), undefined);
  }
});

test('reconcile keeps paused sandboxes and settles interrupted pauses and resumes', async (t) => {
  const { service, runtime, store } = setup(t);
  const paused = await service.create(team, cmd);
  await service.pause(team, paused.id, { memory: true });
  const midPause = await service.create(team, cmd);
  await service.pause(team, midPause.id, { memory: true });
  // crashed after the runtime committed:
  store.changeSandbox(midPause.id, { from: 'paused', patch: { state: 'pausing' }, event: undefined });
  const midResume = await service.create(team, cmd);
  // crashed after the restore:
  store.changeSandbox(midResume.id, { from: 'running', patch: { state: 'resuming' }, event: undefined });
  const vanished = await service.create(team, cmd);
  await service.pause(team, vanished.id, { memory: true });
  runtime.paused.delete(vanished.id); // its images are gone

  const result = await service.reconcile();
  assert.deepEqual(result.adopted, [midResume.id]);
  assert.deepEqual(new Set(result.paused), new Set([paused.id, midPause.id]));
  assert.deepEqual(result.lost, [vanished.id]);
  assert.equal(store.getSandbox(midPause.id)?.state, 'paused');
  assert.equal(store.getSandbox(midResume.id)?.state, 'running');
  assert.equal(store.getSandbox(vanished.id)?.state, 'killed');
  assert.ok(runtime.paused.has(paused.id), 'the sweep spared paused sandboxes');
});
