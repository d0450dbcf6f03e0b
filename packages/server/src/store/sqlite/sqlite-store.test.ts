import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { sampleRecord } from '../../testing/sample-record.js';
import { SqliteStore } from './sqlite-store.js';

function openStore(t: { after: (fn: () => void) => void }): SqliteStore {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sandboxd-store-'));
  const store = new SqliteStore(path.join(dir, 'db.sqlite'));
  store.migrate();
  t.after(() => {
    store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const limits = { plan: 'pro', maxConcurrentSandboxes: 10, maxRuntimeSeconds: 86_400 };
  store.createTeam({ id: 't1', name: 'one', ...limits });
  store.createTeam({ id: 't2', name: 'two', ...limits });
  return store;
}

const record = sampleRecord;

const base = { teamId: 't1', states: ['running' as const], metadata: {}, order: 'desc' as const, limit: 100 };

test('migrate is idempotent and api keys resolve to their team', (t) => {
  const store = openStore(t);
  store.migrate();
  store.addApiKey({ id: 'k', teamId: 't2', hash: 'h1', hint: 'abcd' });
  store.addApiKey({ id: 'k2', teamId: 't1', hash: 'h2', hint: 'efgh', rateLimitPerSecond: 5 });
  assert.deepEqual(store.findApiKeyByHash('h1'), {
    keyId: 'k',
    team: { id: 't2', name: 'two', plan: 'pro', maxConcurrentSandboxes: 10, maxRuntimeSeconds: 86_400 },
    rateLimitPerSecond: null,
  });
  assert.equal(store.findApiKeyByHash('h2')?.rateLimitPerSecond, 5);
  assert.equal(store.findApiKeyByHash('nope'), undefined);
  assert.equal(store.countApiKeys(), 2);
});

test("upsertTeam replaces a team's plan and limits; createTeam leaves an existing one alone", (t) => {
  const store = openStore(t);
  store.upsertTeam({ id: 't1', name: 'one', plan: 'base', maxConcurrentSandboxes: 20, maxRuntimeSeconds: 3600 });
  assert.deepEqual(store.getTeam('t1'), {
    id: 't1',
    name: 'one',
    plan: 'base',
    maxConcurrentSandboxes: 20,
    maxRuntimeSeconds: 3600,
  });
  store.createTeam({ id: 't1', name: 'other', plan: 'pro', maxConcurrentSandboxes: 1, maxRuntimeSeconds: 1 });
  assert.equal(store.getTeam('t1')?.plan, 'base');
  assert.deepEqual(
    store.listTeams().map((team) => team.id),
    ['t1', 't2'],
  );
});

test('list scopes to the team, filters metadata exactly, and pages by (startedAt, id)', (t) => {
  const store = openStore(t);
  store.insertSandbox(record('a1', { startedAt: 1, metadata: { env: 'dev', user: '1' } }));
  store.insertSandbox(record('a2', { startedAt: 2, metadata: { env: 'dev' } }));
  store.insertSandbox(record('a3', { startedAt: 2, metadata: { env: 'prod', 'we\'ird"key': 'x' } }));
  store.insertSandbox(record('b1', { teamId: 't2', startedAt: 3 }));
  store.insertSandbox(record('k1', { startedAt: 4, state: 'killed' }));

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
  store.insertSandbox(record('x1', { endAt: 500 }));
  store.insertSandbox(record('x2', { endAt: 300 }));
  store.insertSandbox(record('x3', { endAt: 100, state: 'killed' }));
  assert.equal(store.nextDeadline(), 300);
  assert.deepEqual(
    store.expiredSandboxes(400).map((r) => r.id),
    ['x2'],
  );
  store.updateSandbox('x2', { state: 'killed' });
  assert.equal(store.nextDeadline(), 500);
});

test('events are recorded in order per team and sandbox, and read after a seq', (t) => {
  const store = openStore(t);
  const first = store.recordEvent({ sandboxId: 's', teamId: 't1', time: 1, type: 'created', cause: 'user' });
  const second = store.recordEvent({
    sandboxId: 's',
    teamId: 't1',
    time: 2,
    type: 'killed',
    cause: 'timeout',
    detail: 'd',
  });
  store.recordEvent({ sandboxId: 's', teamId: 't2', time: 3, type: 'created', cause: 'user' });
  store.recordEvent({ sandboxId: 'other', teamId: 't1', time: 4, type: 'created', cause: 'user' });
  assert.ok(second > first);
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
    events.map((e) => [e.type, e.cause]),
    [
      ['created', 'user'],
      ['killed', 'timeout'],
    ],
  );
});
