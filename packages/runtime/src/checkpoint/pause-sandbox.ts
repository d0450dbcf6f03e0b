import fs from 'node:fs/promises';
import { type Logger, SandboxdError } from '@sandboxd/common';
import { readFreezerState } from '../cgroups/freezer.js';
import { removeTree } from '../process/mounts.js';
import type { StepTimer } from '../process/step-timer.js';
import type { RuncCli } from '../runc/runc-cli.js';
import type { SandboxPaths } from '../runc/sandbox-paths.js';
import type { SandboxRecord } from '../runc/sandbox-record.js';
import type { PausedSandbox } from '../runtime.js';
import { fsyncPath, fsyncTree, renameDurable } from './durable.js';
import { freezeForDump, notRunning, pauseRefused, thawAfterFailedDump } from './freeze-for-dump.js';
import { imageManifest } from './image-manifest.js';
import { shareImagesDir } from './images-dir.js';
import { writePauseRecord } from './pause-record.js';

export interface PauseInput {
  runc: RuncCli;
  paths: SandboxPaths;
  record: SandboxRecord;
  memory: boolean;
  /** The sandbox's teardown in `release` mode: everything but its state dir and slot claim. */
  release: () => Promise<void>;
  timer: StepTimer;
  log: Logger;
}

/**
 * Pause, in the order that keeps every failure recoverable:
 *   freeze → dump into checkpoint.partial (runc then kills the container)      [memory]
 *   or stop the container                                                        [filesystem-only]
 *   → release (processes, mounts, loop device, veth, cgroups: really gone) → fsync disk.img and
 *   every image → rename the images into place → write pause.json (the commit mark).
 * Freezing first (freeze-for-dump.ts) means CRIU finds the tasks frozen and does not poll the
 * freezer itself. A freeze that never settles or a failed dump thaws the tasks again: the sandbox
 * runs on as if nothing happened, and the caller gets PAUSE_REFUSED.
 */
export async function pauseSandbox(input: PauseInput): Promise<PausedSandbox> {
  const { runc, paths, record, memory, timer, log } = input;
  const { sandboxId } = record;
  await Promise.all([removeTree(paths.imagesPartial), removeTree(paths.criuWork)]);
  if (memory) {
    if ((await runc.state(sandboxId))?.status !== 'running') throw notRunning(sandboxId);
    await timer.step('freeze', () => freezeForDump(sandboxId, log));
    try {
      await timer.step('images-dir', async () => {
        // A dump cut short by a crash of the server (CRIU killed with it) left its partial images.
        await removeTree(paths.imagesPartial);
        await fs.mkdir(paths.imagesPartial);
        await shareImagesDir(paths.imagesPartial, record.uidBase);
      });
      await timer.step('checkpoint', () =>
        runc.checkpoint(sandboxId, { images: paths.imagesPartial, work: paths.criuWork, log: paths.runcLog }),
      );
    } catch (err) {
      await thawAfterFailedDump(sandboxId, log);
      await removeTree(paths.imagesPartial);
      if ((await readFreezerState(sandboxId)) === 'THAWED' && (await runc.state(sandboxId))?.status === 'running') {
        throw pauseRefused(sandboxId, 'its memory could not be dumped', err);
      }
      throw new SandboxdError('RUNTIME_FAILED', `pausing sandbox ${sandboxId} failed`, { cause: err });
    }
  } else {
    if ((await runc.state(sandboxId))?.status !== 'running') throw notRunning(sandboxId);
    await timer.step('stop', () => runc.delete(sandboxId));
  }

  // The container is gone: from here on a failure leaves the sandbox 'unknown' (list), never half-paused.
  await timer.step('release', input.release);
  let imageBytes = 0;
  let imageSizes: Record<string, number> | undefined;
  await timer.step('flush', async () => {
    // The disk is unmounted (release made sure its ext4 is gone), so fsync of the image file
    // puts everything the sandbox wrote on the host's disk.
    const images = memory ? fsyncTree(paths.imagesPartial) : Promise.resolve(0);
    [imageBytes] = await Promise.all([images, fsyncPath(paths.diskImage)]);
    if (memory) {
      await removeTree(paths.images);
      await renameDurable(paths.imagesPartial, paths.images);
      imageSizes = await imageManifest(paths.images);
    }
  });
  const paused: PausedSandbox = {
    sandboxId,
    memory,
    pausedAt: new Date().toISOString(),
    imageBytes,
    ...(imageSizes ? { imageSizes } : {}),
  };
  await timer.step('commit', () => writePauseRecord(paths.pauseRecord, paused));
  return paused;
}
