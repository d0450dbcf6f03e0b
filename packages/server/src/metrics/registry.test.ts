import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HostStorage, MiB } from '../lifecycle/host-storage.js';
import { createMetrics } from './registry.js';

test('the host-space gauges read free space, the reserve and what admitted operations hold', async () => {
  const storage = new HostStorage({
    dir: '/unused',
    reserveBytes: 2048 * MiB,
    policy: 'headroom',
    readFree: async () => 10_000 * MiB,
  });
  const metrics = createMetrics({ runningSandboxes: () => 0, storage: () => storage.figures() });
  const release = await storage.admitWrite(300 * MiB, 'a pause');
  const text = await metrics.registry.metrics();
  assert.match(text, new RegExp(`^sandboxd_host_disk_free_bytes ${10_000 * MiB}$`, 'm'));
  assert.match(text, new RegExp(`^sandboxd_host_disk_reserved_bytes\\{kind="reserve"\\} ${2048 * MiB}$`, 'm'));
  assert.match(text, new RegExp(`^sandboxd_host_disk_reserved_bytes\\{kind="in_flight"\\} ${300 * MiB}$`, 'm'));
  assert.match(text, /^sandboxd_host_disk_reserved_bytes\{kind="committed"\} 0$/m);
  release();
  assert.match(await metrics.registry.metrics(), /^sandboxd_host_disk_reserved_bytes\{kind="in_flight"\} 0$/m);
});
