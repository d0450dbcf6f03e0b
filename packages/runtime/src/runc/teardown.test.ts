import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { newSandboxId, SandboxdError } from '@sandboxd/common';
import { mountsUnder, removeTree, StillMountedError } from '../process/mounts.js';
import { runCommand } from '../process/run-command.js';
import { needsSandboxHost } from '../testing/host-requirements.js';
import { assertNothingLeft, claimOf, createHarness, faultInjector, testLimits } from '../testing/runtime-fixture.js';
import { RuncRuntime } from './runc-runtime.js';
import { sandboxPaths } from './sandbox-paths.js';
import { TeardownIncompleteError, teardownSteps } from './teardown-sandbox.js';

const exists = (p: string) =>
  fs.stat(p).then(
    () => true,
    () => false,
  );

describe('one teardown, driven by what is on disk', needsSandboxHost, () => {
  test('removeTree refuses to delete through a mount and keeps what is mounted', async (t) => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'sandboxd-guard-'));
    const mountPoint = path.join(dir, 'deep', 'mnt');
    await fs.mkdir(mountPoint, { recursive: true });
    await runCommand('mount', ['-t', 'tmpfs', 'tmpfs', mountPoint]);
    t.after(async () => {
      await runCommand('umount', [mountPoint]).catch(() => {});
      await fs.rm(dir, { recursive: true, force: true });
    });
    await fs.writeFile(path.join(mountPoint, 'precious'), 'keep me');
    await assert.rejects(removeTree(dir), (err) => err instanceof StillMountedError && err.mounts[0] === mountPoint);
    assert.equal(await fs.readFile(path.join(mountPoint, 'precious'), 'utf8'), 'keep me');
    await runCommand('umount', [mountPoint]);
    await removeTree(dir);
    assert.equal(await exists(dir), false);
  });

  test('a failure injected at each create step leaves nothing behind', async (t) => {
    for (const step of ['state-dir', 'slot', 'files', 'rootfs', 'disk', 'idmount', 'overlay', 'runc-run', 'health']) {
      await t.test(`failure at ${step}`, async (tt) => {
        let veth: string | undefined;
        const h = await createHarness(tt, {
          beforeStep: async (name, id) => {
            const claim = await claimOf(id);
            if (claim) veth = `sbxv${claim.index}`;
            if (name === step) throw new Error(`injected failure at ${step}`);
          },
        });
        const sandboxId = newSandboxId();
        await assert.rejects(
          h.runtime.create({ sandboxId, templateId: 'base', limits: testLimits, envdEnv: {} }),
          /injected failure|creating sandbox/,
        );
        await assertNothingLeft(h.stateDir, sandboxId, veth ? { veth } : {});
      });
    }
  });

  test('a failure injected at each kill step leaves the rest for a retry, never deleting what is mounted', async (t) => {
    for (const step of teardownSteps) {
      await t.test(`failure at ${step}`, async (tt) => {
        const faults = faultInjector();
        const h = await createHarness(tt, { beforeStep: faults.beforeStep });
        const { endpoint, record } = await h.create();
        const id = endpoint.sandboxId;
        const paths = sandboxPaths(h.stateDir, '/run/sandboxd', id);
        faults.failNext(`teardown:${step}`);
        await assert.rejects(h.runtime.kill(id), (err) => {
          assert.ok(err instanceof TeardownIncompleteError, String(err));
          assert.equal(err.failures[0]?.step, step);
          // The server answers it as a 503 to retry, not a 500.
          assert.equal(err.code, 'KILL_INCOMPLETE');
          assert.ok(err.retryAfterSeconds);
          return true;
        });
        const mounted = await mountsUnder([paths.mountDir]);
        if (step === 'unmount') {
          // The mounts stayed, so the dirs under and around them were not deleted, nor what they hold.
          assert.ok(mounted.includes(paths.rootfs), 'the overlay is still mounted');
          assert.ok(await exists(path.join(paths.rootfs, 'etc/passwd')), 'the template shows through, intact');
          assert.ok(await exists(paths.diskImage), 'the disk image was not deleted');
        } else {
          assert.deepEqual(mounted, [], 'every other step unmounts');
        }
        // The destructive steps only run once everything before them worked.
        const kept = step !== 'slot';
        assert.equal(await exists(paths.dir), kept, 'state dir kept for the retry');
        assert.ok(await claimOf(id), 'the slot stays claimed until the end');
        // A second kill (or the start-up sweep) finishes the job.
        await h.runtime.kill(id);
        await assertNothingLeft(h.stateDir, id, { veth: record.veth, pid: endpoint.pid });
      });
    }
  });

  test('a kill stopped by a mount is finished by the next start-up sweep', async (t) => {
    let fail = true;
    const h = await createHarness(t, {
      beforeStep: (name) => {
        if (name === 'teardown:unmount' && fail) throw new Error('injected: the mount stays');
      },
    });
    const { endpoint, record } = await h.create();
    await assert.rejects(h.runtime.kill(endpoint.sandboxId), (err) => SandboxdError.is(err));
    fail = false;
    const restarted = new RuncRuntime(h.options);
    assert.deepEqual(await restarted.sweep(new Set()), [endpoint.sandboxId]);
    await assertNothingLeft(h.stateDir, endpoint.sandboxId, { veth: record.veth });
  });

  test('a pause whose release fails leaves the sandbox for kill, and kill leaves nothing', async (t) => {
    const faults = faultInjector();
    const h = await createHarness(t, { beforeStep: faults.beforeStep });
    const { endpoint, record } = await h.create();
    faults.failNext('teardown:unmount');
    await assert.rejects(h.runtime.pause(endpoint.sandboxId));
    const listed = (await h.runtime.list()).find((s) => s.sandboxId === endpoint.sandboxId);
    assert.notEqual(listed?.status, 'paused', 'no pause record: never half-paused');
    await h.runtime.kill(endpoint.sandboxId);
    await assertNothingLeft(h.stateDir, endpoint.sandboxId, { veth: record.veth });
  });

  test('resume never mounts a disk whose ext4 still lives elsewhere; it waits, then refuses', async (t) => {
    const h = await createHarness(t);
    const { endpoint } = await h.create();
    const id = endpoint.sandboxId;
    const paths = sandboxPaths(h.stateDir, '/run/sandboxd', id);
    await h.exec(id, 'echo kept > /root/kept');
    await h.runtime.pause(id, { memory: false });
    // As if a mount namespace still held the disk's filesystem (what a lazy unmount used to leave):
    // a loop mount of disk.img outside the sandbox's dirs, which teardown cannot take apart.
    const holder = await fs.mkdtemp(path.join(os.tmpdir(), 'sandboxd-holder-'));
    await runCommand('mount', ['-o', 'loop,ro', paths.diskImage, holder]);
    t.after(async () => {
      await runCommand('umount', [holder]).catch(() => {});
      await fs.rm(holder, { recursive: true, force: true });
    });
    await assert.rejects(h.runtime.resume(id), /still in use/);
    assert.equal((await h.runtime.list()).find((s) => s.sandboxId === id)?.status, 'paused', 'it stays paused');
    await runCommand('umount', [holder]);
    await h.runtime.resume(id);
    assert.equal((await h.exec(id, 'cat /root/kept')).stdout, 'kept\n');
  });
});
