import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { SandboxdError } from '@sandboxd/common';
import { slotCount, slotFor } from './slot.js';
import { SlotClaims } from './slot-claims.js';

test('slots map to disjoint /30s, id ranges and veth names', () => {
  assert.deepEqual(slotFor(0), {
    index: 0,
    uidBase: 100_000,
    hostAddress: '10.200.0.1',
    address: '10.200.0.2',
    veth: 'sbxv0',
  });
  assert.equal(slotFor(65).address, '10.200.1.6');
  const last = slotFor(slotCount - 1);
  assert.equal(last.address, '10.200.255.254');
  assert.ok(last.uidBase + 65536 < 2 ** 32);
  assert.ok(last.veth.length <= 15, 'fits IFNAMSIZ');
  assert.throws(() => slotFor(slotCount));
});

test('claims are exclusive across claimants, and a stale release frees nothing', async (t) => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'sandboxd-slots-'));
  t.after(() => fs.rm(dir, { recursive: true, force: true }));
  const a = new SlotClaims(dir);
  const b = new SlotClaims(dir);
  const slots = await Promise.all([
    ...Array.from({ length: 20 }, (_, i) => a.claim('/state/a', `sbxa${i}xxxxxx`)),
    ...Array.from({ length: 20 }, (_, i) => b.claim('/state/b', `sbxb${i}xxxxxx`)),
  ]);
  assert.equal(new Set(slots.map((s) => s.index)).size, 40);
  const first = slots[0];
  assert.ok(first);
  await b.release(first.index, 'someoneelse');
  assert.equal((await a.read(first.index))?.sandboxId, 'sbxa0xxxxxx');
  await a.release(first.index, 'sbxa0xxxxxx');
  assert.equal(await a.read(first.index), undefined);
  assert.equal((await a.list()).length, 39);
});

test('reclaim restores a lost claim, accepts its own, and refuses a slot someone else holds', async (t) => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'sandboxd-slots-'));
  t.after(() => fs.rm(dir, { recursive: true, force: true }));
  const claims = new SlotClaims(dir);
  const slot = await claims.claim('/state/a', 'sbxpaused00000');
  await fs.rm(path.join(dir, String(slot.index)));
  assert.deepEqual(await claims.reclaim(slot.index, '/state/a', 'sbxpaused00000'), slot);
  assert.equal((await claims.read(slot.index))?.sandboxId, 'sbxpaused00000');
  assert.deepEqual(await claims.reclaim(slot.index, '/state/a', 'sbxpaused00000'), slot);
  await assert.rejects(
    claims.reclaim(slot.index, '/state/b', 'sbxother000000'),
    (err) => SandboxdError.is(err) && err.code === 'CAPACITY_EXHAUSTED',
  );
  assert.equal((await claims.read(slot.index))?.sandboxId, 'sbxpaused00000');
});
