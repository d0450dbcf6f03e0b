import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { plans } from '../../teams/plans.js';
import { createdEvent, sampleRecord } from '../../testing/sample-record.js';
import { migrations } from './schema.js';
import { SqliteStore } from './sqlite-store.js';

const limits = {
  plan: 'pro',
  maxConcurrentSandboxes: 10,
  maxRuntimeSeconds: 86_400,
  maxPausedSandboxes: 5,
  maxDiskMiB: 1000,
};

function openStore(t: { after: (fn: () => void) => void }): SqliteStore {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sandboxd-store-'));
  const store = new SqliteStore(path.join(dir, 'db.sqlite'));
  store.migrate();
  t.after(() => {
    store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  store.createTeam({ id: 't1', name: 'one', ...limits });
  store.createTeam({ id: 't2', name: 'two', ...limits });
  return store;
}

const record = sampleRecord;

function insert(store: SqliteStore, r: ReturnType<typeof sampleRecord>): number {
  return store.insertSandbox(r, createdEvent(r));
}

const base = { teamId: 't1', states: ['running' as const], metadata: {}, order: 'desc' as const, limit: 100 };

test('migrate is idempotent and api keys resolve to their team', (t) => {
  const store = openStore(t);
  store.migrate();
  store.addApiKey({ id: 'k', teamId: 't2', hash: 'h1', hint: 'abcd' });
  store.addApiKey({ id: 'k2', teamId: 't1', hash: 'h2', hint: 'efgh', rateLimitPerSecond: 5 });
  assert.deepEqual(store.findApiKeyByHash('h1'), {
    keyId: 'k',
    team: { id: 't2', name: 'two', ...limits },
    rateLimitPerSecond: null,
  });
  assert.equal(store.findApiKeyByHash('h2')?.rateLimitPerSecond, 5);
  assert.equal(store.findApiKeyByHash('nope'), undefined);
  assert.equal(store.countApiKeys(), 2);
});

test("upsertTeam replaces a team's plan and limits; createTeam leaves an existing one alone", (t) => {
  const store = openStore(t);
  store.upsertTeam({ id: 't1', name: 'one', plan: 'base', ...plans.base });
  assert.deepEqual(store.getTeam('t1'), {
    id: 't1',
    name: 'one',
    plan: 'base',
    ...plans.base,
  });
  store.createTeam({ id: 't1', name: 'other', plan: 'pro', ...plans.pro });
  assert.equal(store.getTeam('t1')?.plan, 'base');
  assert.deepEqual(
    store.listTeams().map((team) => team.id),
    ['t1', 't2'],
  );
});

test('list scopes to the team, filters metadata exactly, and pages by (startedAt, id)', (t) => {
  const store = openStore(t);
  insert(store, record('a1', { startedAt: 1, metadata: { env: 'dev', user: '1' } }));
  insert(store, record('a2', { startedAt: 2, metadata: { env: 'dev' } }));
  insert(store, record('a3', { startedAt: 2, metadata: { env: 'prod', 'we\'ird"key': 'x' } }));
  insert(store, record('b1', { teamId: 't2', startedAt: 3 }));
  insert(store, record('k1', { startedAt: 4, state: 'killed' }));

  assert.deepEqual(
    store.listSandboxes(base).map((r) => r.id),
    ['a3', 'a2', 'a1'],
  );
  assert.deepEqual(
    store.listSandboxes({ ...base, order: 'asc' }).map((r) => r.id),
    ['a1', 'a2', 'a3'],
  );
  assert.deepEqual(
    store.listSandboxes({ ...base, metadata: { env: 'dev', user: '1' } }).map((r) => r.id),
    ['a1'],
  );
  assert.deepEqual(
    store.listSandboxes({ ...base, metadata: { 'we\'ird"key': 'x' } }).map((r) => r.id),
    ['a3'],
  );
  const page1 = store.listSandboxes({ ...base, limit: 2 });
  assert.deepEqual(
    page1.map((r) => r.id),
    ['a3', 'a2'],
  );
  const last = page1[1];
  assert.ok(last);
  const page2 = store.listSandboxes({ ...base, limit: 2, after: { startedAt: last.startedAt, id: last.id } });
  assert.deepEqual(
    page2.map((r) => r.id),
    ['a1'],
  );
  assert.deepEqual(
    store.listSandboxes({ ...base, startedAfter: 2 }).map((r) => r.id),
    ['a3', 'a2'],
  );
});

test('deadlines: the earliest running deadline and the expired set', (t) => {
  const store = openStore(t);
  insert(store, record('x1', { endAt: 500 }));
  insert(store, record('x2', { endAt: 300 }));
  insert(store, record('x3', { endAt: 100, state: 'killed' }));
  assert.equal(store.nextDeadline(), 300);
  assert.deepEqual(
    store.expiredSandboxes(400).map((r) => r.id),
    ['x2'],
  );
  store.changeSandbox('x2', { from: 'running', patch: { state: 'killed' }, event: undefined });
  assert.equal(store.nextDeadline(), 500);
});

test('a sandbox change is a compare-and-set on the state, written with its event or not at all', (t) => {
  const store = openStore(t);
  const created = insert(store, record('c1', { state: 'creating' }));
  const event = { sandboxId: 'c1', teamId: 't1', time: 2, type: 'running', cause: 'user' as const };
  const moved = store.changeSandbox('c1', { from: 'creating', patch: { state: 'running', endAt: 9 }, event });
  assert.ok(moved?.seq !== undefined && moved.seq > created);
  assert.equal(store.getSandbox('c1')?.endAt, 9);
  const stale = store.changeSandbox('c1', { from: 'creating', patch: { state: 'killed' }, event });
  assert.equal(stale, undefined, 'the row is no longer creating');
  assert.equal(store.getSandbox('c1')?.state, 'running');
  assert.deepEqual(
    store.listEvents({ teamId: 't1', sandboxId: 'c1', limit: 10 }).map((e) => e.type),
    ['created', 'running'],
    'the refused change wrote no event',
  );
  assert.deepEqual(store.changeSandbox('c1', { from: 'running', patch: {}, event: undefined }), { seq: undefined });
  assert.equal(store.changeSandbox('nope', { from: 'running', patch: {}, event: undefined }), undefined);
});

test('events are recorded in order per team and sandbox, and read after a seq', (t) => {
  const store = openStore(t);
  const first = insert(store, record('s', { startedAt: 1 }));
  const second = store.changeSandbox('s', {
    from: 'running',
    patch: { state: 'killed' },
    event: { sandboxId: 's', teamId: 't1', time: 2, type: 'killed', cause: 'timeout', detail: 'd' },
  })?.seq;
  insert(store, record('s2', { teamId: 't2', startedAt: 3 }));
  insert(store, record('other', { startedAt: 4 }));
  assert.ok(second !== undefined && second > first);
  assert.deepEqual(
    store.listEvents({ teamId: 't1', afterSeq: first, limit: 10 }).map((e) => [e.sandboxId, e.type]),
    [
      ['s', 'killed'],
      ['other', 'created'],
    ],
  );
  assert.deepEqual(
    store.listEvents({ teamId: 't1', limit: 1 }).map((e) => e.sandboxId),
    ['other'],
    'without afterSeq: the latest',
  );
  const events = store.listEvents({ teamId: 't1', sandboxId: 's', limit: 10 });
  assert.deepEqual(
    events.map((e) => [e.type, e.cause, e.detail]),
    [
      ['created', 'user', undefined],
      ['killed', 'timeout', 'd'],
    ],
  );
});

test("teamUsage counts a team's active and paused sandboxes and the disk of every one not killed", (t) => {
  const store = openStore(t);
  const states = ['creating', 'running', 'pausing', 'paused', 'resuming', 'killing', 'killed'] as const;
  states.forEach((state, i) => {
    insert(store, record(`s${i}`, { state, diskSizeMiB: 100 * (i + 1) }));
  });
  insert(store, record('other', { teamId: 't2', state: 'paused' }));
  // killed (700) is gone from the host; killing (600) still holds its disk until its teardown ends.
  assert.deepEqual(store.teamUsage('t1'), { active: 4, paused: 2, diskMiB: 100 + 200 + 300 + 400 + 500 + 600 });
  assert.deepEqual(store.teamUsage('nobody'), { active: 0, paused: 0, diskMiB: 0 });
});

test('the issue-12 migration gives existing teams the paused and disk limits of their plan', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sandboxd-migrate-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'db.sqlite');
  const old = new Database(file);
  old.exec(migrations.slice(0, 3).join('\n'));
  old.pragma('user_version = 3');
  old.exec(
    `INSERT INTO teams (id, name, plan, max_concurrent_sandboxes) VALUES ('b', 'b', 'base', 5), ('p', 'p', 'pro', 5)`,
  );
  old.close();
  const store = new SqliteStore(file);
  t.after(() => store.close());
  store.migrate();
  assert.deepEqual(
    [store.getTeam('b'), store.getTeam('p')].map((team) => [team?.maxPausedSandboxes, team?.maxDiskMiB]),
    [
      [plans.base.maxPausedSandboxes, plans.base.maxDiskMiB],
      [plans.pro.maxPausedSandboxes, plans.pro.maxDiskMiB],
    ],
  );
});
