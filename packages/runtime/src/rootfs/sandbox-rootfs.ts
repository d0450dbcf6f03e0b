import fs from 'node:fs/promises';
import type { Scope } from '@sandboxd/common';
import { listLoopDevices, listMountPoints } from '../process/mounts.js';
import { runCommand, tryCommand } from '../process/run-command.js';
import { settleAll } from '../process/settle-all.js';
import type { StepTimer } from '../process/step-timer.js';

/**
 * The sandbox's root filesystem:
 *   diskImage   sparse ext4 image: the disk quota (the host ext4 has no project quotas)
 *   diskMount   its loop mount, holding upper/ and work/
 *   lower       idmapped read-only mount of the template for the sandbox's id range
 *   rootfs      overlay(lower, upper, work): the container's /
 */
export interface RootfsPaths {
  diskImage: string;
  diskMount: string;
  upper: string;
  work: string;
  lower: string;
  rootfs: string;
}

export interface MountRootfsOptions {
  paths: RootfsPaths;
  templateRootfs: string;
  uidBase: number;
  idCount: number;
  diskSizeMiB: number;
  idmountBinary: string;
  /** false: mount the disk image a paused sandbox kept (resume) instead of making a new one. */
  newDisk?: boolean;
  scope: Scope;
  timer: StepTimer;
}

export async function mountSandboxRootfs(o: MountRootfsOptions): Promise<void> {
  const { paths, scope, timer } = o;
  // 0711 all the way: container root (an unprivileged host uid) must traverse to rootfs.
  await Promise.all(
    [paths.diskMount, paths.lower, paths.rootfs].map((d) => fs.mkdir(d, { recursive: true, mode: 0o711 })),
  );
  await settleAll([
    timer.step('disk', async () => {
      const newDisk = o.newDisk ?? true;
      if (newDisk) await makeDiskImage(paths.diskImage, o.diskSizeMiB);
      await runCommand('mount', ['-o', 'loop,discard,nodev,nosuid', paths.diskImage, paths.diskMount]);
      scope.defer('unmount disk', () => unmountAll([paths.diskMount], [paths.diskImage]));
      if (!newDisk) return;
      await fs.mkdir(paths.upper);
      await fs.mkdir(paths.work);
      // Container root is uidBase on the host; it must own the overlay's upper root to own `/`.
      await fs.chown(paths.upper, o.uidBase, o.uidBase);
    }),
    timer.step('idmount', async () => {
      await runCommand(o.idmountBinary, [o.templateRootfs, paths.lower, String(o.uidBase), String(o.idCount)]);
      scope.defer('unmount lower', () => unmountAll([paths.lower], []));
    }),
  ]);
  await timer.step('overlay', async () => {
    // index=on,nfs_export=on: without them CRIU cannot dump inotify watches (RUNTIME-NOTES A §4.7).
    const options = `lowerdir=${paths.lower},upperdir=${paths.upper},workdir=${paths.work},index=on,nfs_export=on`;
    await runCommand('mount', ['-t', 'overlay', 'overlay', '-o', options, paths.rootfs]);
    scope.defer('unmount overlay', () => unmountAll([paths.rootfs], []));
  });
}

/** Sparse image + mkfs with lazy init: ~4 MB of real disk for any size (RUNTIME-NOTES B §1.5). */
async function makeDiskImage(file: string, sizeMiB: number): Promise<void> {
  const handle = await fs.open(file, 'wx');
  try {
    await handle.truncate(sizeMiB * 1024 * 1024);
  } finally {
    await handle.close();
  }
  await runCommand('mkfs.ext4', ['-q', '-F', '-m', '0', '-E', 'lazy_itable_init=1,lazy_journal_init=1', file]);
}

/** Unmounts everything of a sandbox, overlay first; tolerates what is already gone. */
export async function unmountSandboxRootfs(paths: RootfsPaths): Promise<void> {
  await unmountAll([paths.rootfs, paths.lower, paths.diskMount], [paths.diskImage]);
}

/**
 * Unmounts those of `targets` (in order) that are mounted, in one umount call; falls back to a
 * lazy unmount for any that stay busy. Then detaches loop devices still backed by `images`
 * (mount -o loop sets autoclear, so this is only for crashes between losetup and mount).
 */
export async function unmountAll(targets: readonly string[], images: readonly string[]): Promise<void> {
  const mounted = new Set(await listMountPoints());
  const present = targets.filter((t) => mounted.has(t));
  if (present.length > 0 && !(await tryCommand('umount', present))) {
    const still = new Set(await listMountPoints());
    for (const t of present) if (still.has(t)) await tryCommand('umount', ['-l', t]);
  }
  if (images.length === 0) return;
  const loops = (await listLoopDevices()).filter((l) => images.includes(l.backingFile));
  for (const loop of loops) await tryCommand('losetup', ['-d', loop.device]);
}
