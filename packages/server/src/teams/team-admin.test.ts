import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { authenticate } from '../auth/api-keys.js';
import { loadConfig } from '../config.js';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import { TeamAdmin } from './team-admin.js';

test('teams take a plan preset, explicit limits make them custom, keys resolve with their rate', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sandboxd-admin-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const admin = TeamAdmin.open(loadConfig({ env: {}, argv: ['--data-dir', dir], repoRoot: dir }));
  t.after(() => admin.close());

  assert.deepEqual(admin.createTeam('acme', {}), {
    id: 'acme',
    name: 'acme',
    plan: 'base',
    maxConcurrentSandboxes: 20,
    maxRuntimeSeconds: 3600,
    maxPausedSandboxes: 20,
    maxDiskMiB: 409_600,
  });
  assert.equal(admin.updateTeam('acme', { plan: 'pro' }).maxRuntimeSeconds, 86_400);
  assert.deepEqual(admin.updateTeam('acme', { maxRuntimeSeconds: 7200 }), {
    id: 'acme',
    name: 'acme',
    plan: 'custom',
    maxConcurrentSandboxes: 100,
    maxRuntimeSeconds: 7200,
    maxPausedSandboxes: 100,
    maxDiskMiB: 2_048_000,
  });
  const limited = admin.updateTeam('acme', { maxPausedSandboxes: 3, maxDiskMiB: 30_720 });
  assert.deepEqual([limited.maxPausedSandboxes, limited.maxDiskMiB, limited.plan], [3, 30_720, 'custom']);
  assert.deepEqual(
    admin.listTeams().find((team) => team.id === 'acme'),
    limited,
    'the new limits are stored',
  );
  assert.throws(() => admin.updateTeam('acme', { maxDiskMiB: 0 }), /maxDiskMiB must be a whole number ≥ 1/);
  assert.throws(() => admin.createTeam('acme', {}), /exists/);
  assert.throws(() => admin.createTeam('../x', {}), /team ids/);
  assert.throws(() => admin.updateTeam('acme', { plan: 'gold' }), /plan must be/);
  assert.throws(() => admin.updateTeam('acme', { maxConcurrentSandboxes: 0 }), /≥ 1/);
  assert.throws(() => admin.createKey('nobody'), /no team/);

  const key = admin.createKey('acme', 5);
  const store = new SqliteStore(path.join(dir, 'sandboxd.db'));
  t.after(() => store.close());
  const grant = authenticate(store, key);
  assert.equal(grant.team.id, 'acme');
  assert.equal(grant.rateLimitPerSecond, 5);
});
