import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import { test } from 'node:test';
import { needsSandboxHost } from '../testing/host-requirements.js';
import { createHarness, type Harness } from '../testing/runtime-fixture.js';

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

async function read(h: Harness, id: string, file: string): Promise<string> {
  const r = await h.exec(id, `cat ${file}`);
  assert.equal(r.code, 0, `${file}: ${r.stderr}`);
  return r.stdout.trim();
}

test('a sandbox sees its own boot id, machine id and hostname, never the host’s', needsSandboxHost, async (t) => {
  const h = await createHarness(t);
  const [a, b] = await Promise.all([h.create(), h.create()]);
  const idA = a.endpoint.sandboxId;
  const idB = b.endpoint.sandboxId;
  const hostBootId = (await fs.readFile('/proc/sys/kernel/random/boot_id', 'utf8')).trim();
  const bootId = (id: string) => read(h, id, '/proc/sys/kernel/random/boot_id');

  await t.test('boot id: a uuid of its own, not the host’s nor another sandbox’s', async () => {
    const [ia, ib] = await Promise.all([bootId(idA), bootId(idB)]);
    assert.match(ia, uuid);
    assert.match(ib, uuid);
    assert.notEqual(ia, hostBootId);
    assert.notEqual(ib, hostBootId);
    assert.notEqual(ia, ib);
    const write = await h.exec(idA, 'echo 00000000-0000-4000-8000-000000000000 > /proc/sys/kernel/random/boot_id');
    assert.notEqual(write.code, 0, 'root inside cannot change it');
  });

  await t.test('boot id: kept by a memory pause, new after a cold boot', async () => {
    const before = await bootId(idA);
    await h.runtime.pause(idA);
    await h.runtime.resume(idA);
    assert.equal(await bootId(idA), before, 'a memory resume is the same boot');
    const write = await h.exec(idA, 'echo 00000000-0000-4000-8000-000000000000 > /proc/sys/kernel/random/boot_id');
    assert.notEqual(write.code, 0, 'still read-only after the restore');
    await h.runtime.pause(idA, { memory: false });
    await h.runtime.resume(idA);
    const after = await bootId(idA);
    assert.match(after, uuid);
    assert.notEqual(after, before, 'a cold boot is a new boot');
    assert.notEqual(after, hostBootId);
  });

  await t.test('machine id: its own, kept across a cold boot', async () => {
    const hostMachineId = (await fs.readFile('/etc/machine-id', 'utf8').catch(() => '')).trim();
    const [ma, mb] = await Promise.all([read(h, idA, '/etc/machine-id'), read(h, idB, '/etc/machine-id')]);
    assert.match(ma, /^[0-9a-f]{32}$/);
    assert.match(mb, /^[0-9a-f]{32}$/);
    assert.notEqual(ma, mb);
    assert.notEqual(ma, hostMachineId);
    await h.runtime.pause(idB, { memory: false });
    await h.runtime.resume(idB);
    assert.equal(await read(h, idB, '/etc/machine-id'), mb);
  });

  await t.test('hostname: the sandbox’s (as E2B’s: e2b.local), not the host’s', async () => {
    const name = await read(h, idA, '/proc/sys/kernel/hostname');
    assert.equal(name, 'e2b.local');
    assert.notEqual(name, os.hostname());
  });

  await t.test('no host hardware ids: no DMI product uuid, only the sandbox’s own interfaces', async () => {
    const dmi = await h.exec(idA, 'cat /sys/class/dmi/id/product_uuid');
    assert.notEqual(dmi.code, 0, `product_uuid is not readable: ${dmi.stdout}`);
    const nets = (await h.exec(idA, 'ls /sys/class/net')).stdout.trim().split(/\s+/);
    assert.deepEqual(nets.sort(), ['eth0', 'lo']);
  });
});
