import fs from 'node:fs/promises';
import { type Logger, SandboxdError } from '@sandboxd/common';
import { removeSandboxCgroups } from '../cgroups/cgroup-v1.js';
import { deleteVeth } from '../netns/veth.js';
import { listMountPoints } from '../process/mounts.js';
import { runCommand } from '../process/run-command.js';
import type { StepTimer } from '../process/step-timer.js';
import { unmountSandboxRootfs } from '../rootfs/sandbox-rootfs.js';
import type { RuncCli } from '../runc/runc-cli.js';
import type { SandboxPaths } from '../runc/sandbox-paths.js';
import type { SandboxRecord } from '../runc/sandbox-record.js';
import type { PausedSandbox } from '../runtime.js';
import { fsyncPath, fsyncTree, renameDurable } from './durable.js';
import { shareImagesDir } from './images-dir.js';
import { writePauseRecord } from './pause-record.js';

export interface PauseInput {
  runc: RuncCli;
  paths: SandboxPaths;
  record: SandboxRecord;
  memory: boolean;
  timer: StepTimer;
  log: Logger;
}

/**
 * Pause, in the order that keeps every failure recoverable:
 *   freeze → dump into checkpoint.partial (runc then kills the container)      [memory]
 *   or stop the container                                                        [filesystem-only]
 *   → unmount overlay, lower, disk → fsync disk.img and every image → rename the images into
 *   place → write pause.json (the commit mark) → drop the veth and leftover cgroups.
 * Freezing first skips CRIU's 100 ms freezer polling (RUNTIME-NOTES A §4.9). A failed dump leaves
 * the tasks frozen (CRIU restores the freezer state it found), so they are thawed and the sandbox
 * runs on as if nothing happened.
 */
export async function pauseSandbox(input: PauseInput): Promise<PausedSandbox> {
  const { runc, paths, record, memory, timer } = input;
  const { sandboxId } = record;
  await Promise.all([
    fs.rm(paths.imagesPartial, { recursive: true, force: true }),
    fs.rm(paths.criuWork, { recursive: true, force: true }),
  ]);
  if (memory) {
    await timer
      .step('freeze', () => runc.freeze(sandboxId))
      .catch(async (err) => {
        throw await notRunningOr(runc, sandboxId, err);
      });
    try {
      await timer.step('images-dir', async () => {
        await fs.mkdir(paths.imagesPartial);
        await shareImagesDir(paths.imagesPartial, record.uidBase);
      });
      await timer.step('checkpoint', () =>
        runc.checkpoint(sandboxId, { images: paths.imagesPartial, work: paths.criuWork, log: paths.runcLog }),
      );
    } catch (err) {
      await runc
        .thaw(sandboxId)
        .catch((thawErr) => input.log.error('thaw after a failed dump failed', { err: thawErr }));
      await fs.rm(paths.imagesPartial, { recursive: true, force: true });
      throw new SandboxdError('RUNTIME_FAILED', `pausing sandbox ${sandboxId} failed; it keeps running`, {
        cause: err,
      });
    }
  } else {
    const state = await runc.state(sandboxId);
    if (state?.status !== 'running') throw notRunning(sandboxId);
    await timer.step('stop', () => runc.delete(sandboxId));
  }

  // The container is gone: from here on a failure leaves the sandbox 'unknown' (list), never half-paused.
  let imageBytes = 0;
  await timer.step('unmount', () => unmountSandboxRootfs(paths));
  await timer.step('flush', async () => {
    // umount wrote the ext4 into disk.img's page cache; fsync puts it on the host's disk. A disk
    // that stayed mounted (busy, lazily detached) is synced first.
    if ((await listMountPoints()).includes(paths.diskMount)) await runCommand('sync', ['-f', paths.diskMount]);
    const images = memory ? fsyncTree(paths.imagesPartial) : Promise.resolve(0);
    [imageBytes] = await Promise.all([images, fsyncPath(paths.diskImage)]);
    if (memory) {
      await fs.rm(paths.images, { recursive: true, force: true });
      await renameDurable(paths.imagesPartial, paths.images);
    }
  });
  const paused: PausedSandbox = { sandboxId, memory, pausedAt: new Date().toISOString(), imageBytes };
  await timer.step('commit', () => writePauseRecord(paths.pauseRecord, paused));
  // Best effort: the netns (and with it the veth pair) dies asynchronously; the hook deletes a stale veth anyway.
  await timer.step('release', async () => {
    await deleteVeth(record.veth);
    await removeSandboxCgroups(sandboxId);
  });
  return paused;
}

async function notRunningOr(runc: RuncCli, sandboxId: string, err: unknown): Promise<Error> {
  const state = await runc.state(sandboxId);
  if (state?.status !== 'running') return notRunning(sandboxId);
  return new SandboxdError('RUNTIME_FAILED', `freezing sandbox ${sandboxId} failed`, { cause: err });
}

function notRunning(sandboxId: string): SandboxdError {
  return new SandboxdError('SANDBOX_NOT_RUNNING', `sandbox ${sandboxId} is not running`);
}
