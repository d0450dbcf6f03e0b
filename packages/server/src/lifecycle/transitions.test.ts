import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { httpStatusForKind, SandboxdError } from '@sandboxd/common';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import type { SandboxEvent, StoredEvent } from '../store/store.js';
import { createdEvent, sampleRecord } from '../testing/sample-record.js';
import { EventLog } from './event-log.js';
import { RouteTable } from './route-table.js';
import { StateWriter } from './state-writer.js';
import { canApply, type Move, moves, sandboxActions, sandboxStates } from './transitions.js';

const causes: SandboxEvent['cause'][] = ['user', 'timeout', 'traffic', 'error', 'system'];
const endpoint = { address: '10.200.0.2', envdPort: 49983 };

function openWriter(t: { after: (fn: () => void) => void }) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sandboxd-transitions-'));
  const store = new SqliteStore(path.join(dir, 'db.sqlite'));
  store.migrate();
  store.createTeam({
    id: 't1',
    name: 't1',
    plan: 'pro',
    maxConcurrentSandboxes: 10,
    maxRuntimeSeconds: 86_400,
    maxPausedSandboxes: 10,
    maxDiskMiB: 1 << 20,
  });
  const events = new EventLog(store);
  const published: StoredEvent[] = [];
  events.subscribe(
    {
      id: 't1',
      name: 't1',
      plan: 'pro',
      maxConcurrentSandboxes: 10,
      maxRuntimeSeconds: 1,
      maxPausedSandboxes: 10,
      maxDiskMiB: 1,
    },
    (e) => published.push(e),
    () => {},
  );
  const routes = new RouteTable();
  let reschedules = 0;
  const writer = new StateWriter({
    store,
    clock: { now: () => 1_000 },
    events,
    routes,
    reschedule: () => reschedules++,
  });
  t.after(() => {
    events.close();
    store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return { store, writer, routes, published, reschedules: () => reschedules };
}

test('every (state, action, cause): legal moves write row, event and route together; the rest are a typed 409', (t) => {
  const { store, writer, routes, published } = openWriter(t);
  let n = 0;
  let legal = 0;
  for (const state of sandboxStates) {
    for (const action of sandboxActions) {
      for (const cause of causes) {
        const id = `s${n++}`;
        const row = sampleRecord(id, { state, ...(state === 'running' ? endpoint : {}) });
        store.insertSandbox(row, createdEvent(row));
        if (state === 'running') routes.set(id, endpoint);
        const before = published.length;
        const move: Move = moves[action];
        const label = `${state} --${action} (${cause})-->`;
        if (!canApply(state, action, cause)) {
          assert.throws(
            () => writer.apply(row, action, { cause, endpoint }),
            (e: unknown) => SandboxdError.is(e) && e.code === 'INVALID_TRANSITION' && httpStatusForKind(e.kind) === 409,
            `${label} is refused with INVALID_TRANSITION`,
          );
          assert.equal(store.getSandbox(id)?.state, state, `${label}: the row is unchanged`);
          assert.equal(published.length, before, `${label}: no event`);
          continue;
        }
        legal++;
        const written = writer.apply(row, action, { cause, endpoint, patch: { endAt: 42 } });
        const to = move.to === 'same' ? state : move.to;
        assert.equal(written.state, to, label);
        assert.equal(store.getSandbox(id)?.state, to, `${label}: stored`);
        assert.equal(store.getSandbox(id)?.endAt, 42, `${label}: the patch is written with the state`);
        assert.equal(Boolean(routes.get(id)), to === 'running', `${label}: routed exactly while running`);
        const types = store.listEvents({ teamId: 't1', sandboxId: id, limit: 10 }).map((e) => e.type);
        assert.deepEqual(types, move.event ? ['created', move.event] : ['created'], `${label}: its event, stored`);
        assert.deepEqual(
          published.slice(before).map((e) => [e.type, e.cause]),
          move.event ? [[move.event, cause]] : [],
          `${label}: its event, published`,
        );
      }
    }
  }
  assert.ok(legal > 20, `walked ${n} moves, ${legal} of them legal`);
});

test('a move from a state the row has left is refused and writes nothing', (t) => {
  const { store, writer } = openWriter(t);
  const row = sampleRecord('x', { state: 'running' });
  store.insertSandbox(row, createdEvent(row));
  writer.apply(row, 'pause', { cause: 'user' });
  // A second writer that still holds the `running` row (a race the queue should prevent).
  assert.throws(
    () => writer.apply(row, 'kill', { cause: 'user' }),
    (e: unknown) => SandboxdError.is(e) && e.code === 'INVALID_TRANSITION' && /is pausing, not running/.test(e.message),
  );
  assert.equal(store.getSandbox('x')?.state, 'pausing');
});

test('the table is closed: killed is terminal and nothing reaches creating', () => {
  for (const action of sandboxActions) {
    for (const cause of causes) assert.equal(canApply('killed', action, cause), false, action);
    assert.notEqual((moves[action] as Move).to, 'creating');
  }
  assert.equal(canApply('creating', 'fail-create', 'error'), true, 'a failed create is a legal move');
});
