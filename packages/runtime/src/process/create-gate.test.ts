import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CreateGate } from './create-gate.js';

test('at most `limit` at once, the rest in arrival order; an aborted wait leaves the queue', async () => {
  const gate = new CreateGate(2);
  const order: string[] = [];
  const a = await gate.enter();
  const b = await gate.enter();
  const c = gate.enter().then((release) => {
    order.push('c');
    return release;
  });
  const abort = new AbortController();
  const d = gate.enter(abort.signal);
  const e = gate.enter().then((release) => {
    order.push('e');
    return release;
  });
  assert.equal(gate.waiting, 3);
  abort.abort(new Error('gone'));
  await assert.rejects(d, /gone/);
  assert.equal(gate.waiting, 2);
  a();
  a(); // a second release of the same place frees nothing more
  (await c)();
  b();
  (await e)();
  assert.deepEqual(order, ['c', 'e']);
  assert.equal(gate.waiting, 0);
});
