import assert from 'node:assert/strict';
import { test } from 'node:test';
import { httpStatusForKind, SandboxdError } from '@sandboxd/common';
import { HostStorage, MiB } from './host-storage.js';

/** A filesystem whose free space the test sets. */
function storage(free: { bytes: number }, more: { policy?: 'headroom' | 'strict'; committed?: number } = {}) {
  return new HostStorage({
    dir: '/nowhere',
    reserveBytes: 1024 * MiB,
    policy: more.policy ?? 'headroom',
    committedGrowth: async () => more.committed ?? 0,
    readFree: async () => free.bytes,
  });
}

const refusedForSpace = (e: unknown) =>
  SandboxdError.is(e) && e.code === 'STORAGE_EXHAUSTED' && httpStatusForKind(e.kind) === 507;

test('admits what fits in free space less the reserve, refuses the rest with a 507 naming the figures', async () => {
  const free = { bytes: 1024 * MiB + 500 * MiB };
  const host = storage(free);
  const release = await host.admitDisk(500 * MiB, 'a new sandbox');
  release();
  await assert.rejects(host.admitDisk(501 * MiB, 'a new sandbox'), (e: unknown) => {
    assert.ok(refusedForSpace(e));
    assert.match(
      (e as Error).message,
      /for a new sandbox: it may write 501 MiB, 500 MiB is available \(1524 MiB free, 1024 MiB kept in reserve/,
    );
    return true;
  });
  free.bytes = 100 * MiB; // below the reserve: nothing fits, not even an empty operation
  await assert.rejects(host.admitWrite(1, 'x'), refusedForSpace);
});

test('admitted writes hold their bytes until released, so parallel pauses cannot overshoot', async () => {
  const free = { bytes: 1024 * MiB + 1000 * MiB };
  const host = storage(free);
  const results = await Promise.allSettled([1, 2, 3].map(() => host.admitWrite(400 * MiB, 'a pause')));
  const admitted = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  assert.equal(admitted.length, 2, 'two of 400 MiB fit in 1000 MiB, the third does not');
  assert.ok(results.some((r) => r.status === 'rejected' && refusedForSpace(r.reason)));
  assert.equal(host.lastFigures().inFlightBytes, 800 * MiB);
  // A create is checked against what the pauses may still write too.
  await assert.rejects(host.admitDisk(201 * MiB, 'a create'), refusedForSpace);
  const [first] = admitted;
  first?.();
  first?.(); // a second release frees nothing more
  assert.equal(host.lastFigures().inFlightBytes, 400 * MiB);
  (await host.admitWrite(400 * MiB, 'a pause'))();
});

test('headroom: parallel creates are each checked on their own; strict: they hold their disks', async () => {
  const free = { bytes: 1024 * MiB + 1000 * MiB };
  const headroom = storage(free);
  const all = await Promise.all([1, 2, 3].map(() => headroom.admitDisk(600 * MiB, 'a create')));
  assert.equal(headroom.lastFigures().inFlightBytes, 0, 'a create holds nothing under headroom');
  for (const release of all) release();
  const strict = storage(free, { policy: 'strict' });
  const results = await Promise.allSettled([1, 2, 3].map(() => strict.admitDisk(400 * MiB, 'a create')));
  assert.deepEqual(
    results.map((r) => r.status),
    ['fulfilled', 'fulfilled', 'rejected'],
  );
  assert.equal(strict.lastFigures().inFlightBytes, 800 * MiB);
});

test('strict admission also keeps room for the running disks to grow; headroom does not', async () => {
  const free = { bytes: 1024 * MiB + 1000 * MiB };
  (await storage(free, { policy: 'headroom', committed: 900 * MiB }).admitDisk(500 * MiB, 'a create'))();
  const strict = storage(free, { policy: 'strict', committed: 900 * MiB });
  await assert.rejects(strict.admitDisk(500 * MiB, 'a create'), refusedForSpace);
  (await strict.admitDisk(100 * MiB, 'a create'))();
  assert.deepEqual(await strict.figures(), {
    freeBytes: free.bytes,
    reserveBytes: 1024 * MiB,
    inFlightBytes: 0,
    committedBytes: 900 * MiB,
  });
});
