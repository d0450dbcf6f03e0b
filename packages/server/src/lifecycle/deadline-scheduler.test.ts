import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DeadlineScheduler } from './deadline-scheduler.js';
import { SerialQueue } from './serial-queue.js';

test('the scheduler fires each expired deadline once, in one timer', async () => {
  const deadlines = new Map([
    ['a', Date.now() + 30],
    ['b', Date.now() + 60],
  ]);
  const fired: string[] = [];
  const scheduler = new DeadlineScheduler(
    {
      nextDeadline: () => (deadlines.size ? Math.min(...deadlines.values()) : undefined),
      expiredIds: (now) => [...deadlines].filter(([, t]) => t <= now).map(([id]) => id),
    },
    { now: () => Date.now() },
    async (id) => {
      fired.push(id);
      deadlines.delete(id);
    },
  );
  scheduler.reschedule();
  await new Promise((r) => setTimeout(r, 200));
  scheduler.stop();
  assert.deepEqual(fired, ['a', 'b']);
});

test('the serial queue runs operations on one key in order, other keys independently', async () => {
  const queue = new SerialQueue();
  const order: string[] = [];
  const slow = queue.run('k', async () => {
    await new Promise((r) => setTimeout(r, 30));
    order.push('k1');
  });
  const failing = queue.run('k', async () => {
    order.push('k2');
    throw new Error('boom');
  });
  const after = queue.run('k', async () => order.push('k3'));
  const other = queue.run('j', async () => order.push('j1'));
  await Promise.allSettled([slow, failing, after, other]);
  assert.deepEqual(order, ['j1', 'k1', 'k2', 'k3']);
  await assert.rejects(failing, /boom/);
  await queue.drain();
});
