import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, loadConfig } from './config.js';

const load = (env: Record<string, string>) => loadConfig({ env, argv: [], repoRoot: '/tmp' });

test('disk settings: defaults, the plan presets for team limits, and overrides', () => {
  const defaults = load({});
  assert.equal(defaults.sandbox.diskSizeMiB, 10240);
  assert.deepEqual(defaults.storage, { reserveMiB: 2048, admission: 'headroom' });
  assert.deepEqual([defaults.defaultTeam.maxPausedSandboxes, defaults.defaultTeam.maxDiskMiB], [100, 2_048_000]);
  assert.deepEqual(
    [
      load({ SANDBOXD_PLAN: 'base' }).defaultTeam.maxPausedSandboxes,
      load({ SANDBOXD_PLAN: 'base' }).defaultTeam.maxDiskMiB,
    ],
    [20, 409_600],
  );
  const set = load({
    SANDBOXD_SANDBOX_DISK_MIB: '512',
    SANDBOXD_DISK_RESERVE_MIB: '0',
    SANDBOXD_DISK_ADMISSION: 'strict',
    SANDBOXD_MAX_PAUSED_SANDBOXES: '3',
    SANDBOXD_MAX_TEAM_DISK_MIB: '4096',
  });
  assert.equal(set.sandbox.diskSizeMiB, 512);
  assert.deepEqual(set.storage, { reserveMiB: 0, admission: 'strict' });
  assert.deepEqual([set.defaultTeam.maxPausedSandboxes, set.defaultTeam.maxDiskMiB], [3, 4096]);
  // Unset, they follow the concurrent limit and the disk size, as the presets do.
  const small = load({ SANDBOXD_MAX_CONCURRENT_SANDBOXES: '1', SANDBOXD_SANDBOX_DISK_MIB: '1024' });
  assert.deepEqual([small.defaultTeam.maxPausedSandboxes, small.defaultTeam.maxDiskMiB], [1, 2048]);
});

test('bad disk settings are listed, naming the setting', () => {
  assert.throws(
    () =>
      load({
        SANDBOXD_SANDBOX_DISK_MIB: '10',
        SANDBOXD_DISK_RESERVE_MIB: '-1',
        SANDBOXD_DISK_ADMISSION: 'lax',
        SANDBOXD_MAX_PAUSED_SANDBOXES: '0',
      }),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.problems.length, 4, err.problems.join('\n'));
      assert.match(err.message, /SANDBOXD_SANDBOX_DISK_MIB must be a whole number from 64/);
      assert.match(err.message, /SANDBOXD_DISK_RESERVE_MIB must be a whole number from 0/);
      assert.match(err.message, /SANDBOXD_DISK_ADMISSION must be headroom or strict, got 'lax'/);
      assert.match(err.message, /SANDBOXD_MAX_PAUSED_SANDBOXES must be a whole number from 1/);
      return true;
    },
  );
});
