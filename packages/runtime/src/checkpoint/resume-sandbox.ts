import { setTimeout as sleep } from 'node:timers/promises';
import { type Logger, SandboxdError } from '@sandboxd/common';
import { loopsUnder, mountsUnder, removeTree } from '../process/mounts.js';
import type { StepTimer } from '../process/step-timer.js';
import { mountSandboxRootfs } from '../rootfs/sandbox-rootfs.js';
import { prepareBootId } from '../runc/boot-identity.js';
import { type BindSources, updateResumeConfig } from '../runc/resume-config.js';
import type { RuncCli } from '../runc/runc-cli.js';
import type { SandboxPaths } from '../runc/sandbox-paths.js';
import type { SandboxRecord } from '../runc/sandbox-record.js';
import type { PausedSandbox } from '../runtime.js';
import { idCount } from '../slots/slot.js';
import type { SlotClaims } from '../slots/slot-claims.js';
import { assertImagesIntact } from './image-manifest.js';
import { shareImagesDir } from './images-dir.js';
import { removePauseRecord, writePauseRecord } from './pause-record.js';

export interface ResumeInput {
  runc: RuncCli;
  slots: SlotClaims;
  stateDir: string;
  paths: SandboxPaths;
  record: SandboxRecord;
  paused: PausedSandbox;
  /** false: boot from the disk even though memory was kept (the images are deleted first). */
  restoreMemory: boolean;
  /** For a fresh boot: envd environment variables to set (see ResumeOptions.envdEnv). */
  envdEnv?: Record<string, string>;
  templateRootfs: string;
  idmountBinary: string;
  /** Today's host files for the read-only binds (see resume-config.ts for which a restore keeps). */
  bindSources: BindSources;
  waitForHealth: (pid: number) => Promise<void>;
  /** The sandbox's teardown in `release` mode: back to what a paused sandbox holds. */
  release: () => Promise<void>;
  timer: StepTimer;
  log: Logger;
}

/**
 * Resume re-creates whatever a reboot may have wiped, then starts the sandbox from what the pause
 * kept: slot claim → disk, idmapped lower and overlay (remounted from scratch) → `runc restore`
 * (runc re-runs the prestart hook, which re-plumbs the veth before CRIU restores the sockets) or
 * `runc run` → envd answers → pause.json removed (the commit) → images deleted. Until the commit a
 * failure unwinds the mounts and the container and leaves the sandbox paused, images intact.
 */
export async function resumeSandbox(input: ResumeInput): Promise<number> {
  const { record } = input;
  // Outside the rollback: a slot someone else holds now is theirs, with its veth, to keep.
  await input.timer.step('slot', () => input.slots.reclaim(record.slot, input.stateDir, record.sandboxId));
  try {
    return await resume(input);
  } catch (err) {
    await input.release().catch((e) => input.log.error('resume rollback failed', { err: e }));
    if (SandboxdError.is(err)) throw err;
    throw new SandboxdError('RUNTIME_FAILED', `resuming sandbox ${input.record.sandboxId} failed; it stays paused`, {
      cause: err,
    });
  }
}

async function resume(input: ResumeInput): Promise<number> {
  const { runc, paths, record, timer } = input;
  const { sandboxId } = record;
  if (input.paused.memory && !input.restoreMemory) {
    // Durably "filesystem-only" before the images go, so a crash in between never points at missing images.
    const { imageSizes: _gone, ...kept } = input.paused;
    await writePauseRecord(paths.pauseRecord, { ...kept, memory: false, imageBytes: 0 });
    await removeTree(paths.images);
  }
  // Before anything is mounted: damaged images are refused, never handed to CRIU.
  if (input.restoreMemory && input.paused.imageSizes) {
    await assertImagesIntact(paths.images, input.paused.imageSizes, sandboxId);
  }
  await timer.step('config', () =>
    updateResumeConfig(paths.config, input.bindSources, { restoreMemory: input.restoreMemory, envdEnv: input.envdEnv }),
  );
  await timer.step('released', () => assertReleased(input));
  await mountSandboxRootfs({
    paths,
    templateRootfs: input.templateRootfs,
    uidBase: record.uidBase,
    idCount,
    diskSizeMiB: record.limits.diskSizeMiB,
    idmountBinary: input.idmountBinary,
    newDisk: false,
    timer,
  });
  await removeTree(paths.criuWork);
  const pid = await timer.step(input.restoreMemory ? 'restore' : 'runc-run', async () => {
    await prepareBootId(paths, input.restoreMemory ? 'restore' : 'boot');
    if (!input.restoreMemory) return runc.run(sandboxId, paths.dir, { log: paths.runcLog, pid: paths.pidFile });
    await shareImagesDir(paths.images, record.uidBase);
    return runc.restore(sandboxId, paths.dir, {
      images: paths.images,
      work: paths.criuWork,
      log: paths.runcLog,
      pid: paths.pidFile,
    });
  });
  await timer.step('health', () => input.waitForHealth(pid));
  await timer.step('commit', () => removePauseRecord(paths));
  return pid;
}

/** How long a resume waits for the ext4 of its disk to be let go of elsewhere (see assertReleased). */
const releasePatienceMs = 30_000;

/**
 * A pause leaves nothing mounted here, but the disk's ext4 can live on for a while in another
 * mount namespace that copied ours (a container being created); its loop device stays attached
 * until then. The disk is mounted again only once no mount and no loop device of it is left: a
 * second ext4 on the same image would corrupt it, and a second overlay on the same upper dir is
 * refused ("upperdir is in-use"). Whatever is mounted here (a crash during a pause) is released
 * first; a resume that still finds the disk held refuses and leaves the sandbox paused.
 */
async function assertReleased(input: ResumeInput): Promise<void> {
  const { paths } = input;
  if ((await mountsUnder([paths.mountDir, paths.dir])).length > 0) await input.release();
  const end = performance.now() + releasePatienceMs;
  for (let delayMs = 20; ; delayMs = Math.min(delayMs * 2, 500)) {
    const held = [
      ...(await mountsUnder([paths.mountDir, paths.dir])),
      ...(await loopsUnder([paths.dir])).map((l) => l.device),
    ];
    if (held.length === 0) return;
    if (performance.now() >= end) {
      const id = input.record.sandboxId;
      throw new SandboxdError('RUNTIME_FAILED', `the disk of sandbox ${id} is still in use: ${held.join(', ')}`);
    }
    await sleep(delayMs);
  }
}
