import fs from 'node:fs/promises';
import path from 'node:path';
import { runCommand } from '../process/run-command.js';
import { settleAll } from '../process/settle-all.js';
import type { StepTimer } from '../process/step-timer.js';
import { writeMachineId } from './machine-id.js';

/**
 * The sandbox's root filesystem, its mount points under `mountDir`:
 *   diskImage   sparse ext4 image: the disk quota (the host ext4 has no project quotas)
 *   diskMount   its loop mount, holding upper/ and work/
 *   lower       idmapped read-only mount of the template for the sandbox's id range
 *   rootfs      overlay(lower, upper, work): the container's /
 */
export interface RootfsPaths {
  mountDir: string;
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
  /** Run on the mounted disk before the overlay goes up (a restored snapshot shifts its upper's owners). */
  beforeOverlay?: () => Promise<void>;
  /** Give the sandbox a new machine id (default: only on a new disk). */
  newMachineId?: boolean;
  timer: StepTimer;
}

/**
 * Mounts disk, idmapped lower and overlay. Registers no undo: a failure here is cleaned up by the
 * sandbox's teardown, which finds what was mounted in mountinfo (runc/teardown-sandbox.ts).
 */
export async function mountSandboxRootfs(o: MountRootfsOptions): Promise<void> {
  const { paths, timer } = o;
  await makeMountDir(paths, o.uidBase);
  await Promise.all(
    [paths.diskMount, paths.lower, paths.rootfs].map((d) => fs.mkdir(d, { recursive: true, mode: 0o700 })),
  );
  await settleAll([
    timer.step('disk', async () => {
      const newDisk = o.newDisk ?? true;
      if (newDisk) await makeDiskImage(paths.diskImage, o.diskSizeMiB);
      await runCommand('mount', ['-o', 'loop,discard,nosuid,nodev', paths.diskImage, paths.diskMount]);
      if (!newDisk) return o.beforeOverlay?.();
      await fs.mkdir(paths.upper);
      await fs.mkdir(paths.work);
      // Container root is uidBase on the host; it must own the overlay's upper root to own `/`.
      await fs.chown(paths.upper, o.uidBase, o.uidBase);
    }),
    timer.step('idmount', async () => {
      await runCommand(o.idmountBinary, [o.templateRootfs, paths.lower, String(o.uidBase), String(o.idCount)]);
    }),
  ]);
  await timer.step('overlay', async () => {
    // index=on,nfs_export=on: CRIU dumps an inotify watch by file handle, which an overlay only
    // hands out (and resolves again at restore) with both set.
    const layers = `lowerdir=${paths.lower},upperdir=${paths.upper},workdir=${paths.work},index=on,nfs_export=on`;
    // nodev but not nosuid: the container's / is a bind of this mount, and a bind keeps (and, in
    // the sandbox's user namespace, locks) the flags, so nosuid here would break sudo inside.
    // Host users cannot reach it anyway: see makeMountDir.
    await runCommand('mount', ['-t', 'overlay', 'overlay', '-o', `nodev,${layers}`, paths.rootfs]);
    if (o.newMachineId ?? o.newDisk ?? true) await writeMachineId(paths.rootfs, o.uidBase);
  });
}

/**
 * `<runDir>/sandboxes/<id>/` is owner root, group uidBase (the sandbox's root on the host), 0710:
 * runc's init mounts the rootfs as container root, which must traverse it, and no other host user
 * may: the rootfs below shows the sandbox's files and its setuid binaries. Made 0700 first and
 * opened up to the group after, so there is never a moment a host user could enter. The
 * sandboxes dir above is 0711 (not listable).
 */
async function makeMountDir(paths: RootfsPaths, uidBase: number): Promise<void> {
  // After a reboot wiped the run dir, a resume re-creates its parents (traversable, not listable).
  await fs.mkdir(path.dirname(paths.mountDir), { recursive: true, mode: 0o711 });
  await fs.mkdir(paths.mountDir, { mode: 0o700 }).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'EEXIST') throw err;
  });
  await fs.chown(paths.mountDir, 0, uidBase);
  await fs.chmod(paths.mountDir, 0o710);
}

/** Sparse image + mkfs with lazy init: ~4 MB of real disk for any size, and mkfs takes milliseconds. */
async function makeDiskImage(file: string, sizeMiB: number): Promise<void> {
  const handle = await fs.open(file, 'wx');
  try {
    await handle.truncate(sizeMiB * 1024 * 1024);
  } finally {
    await handle.close();
  }
  await runCommand('mkfs.ext4', ['-q', '-F', '-m', '0', '-E', 'lazy_itable_init=1,lazy_journal_init=1', file]);
}
