import path from 'node:path';
import type { RootfsPaths } from '../rootfs/sandbox-rootfs.js';
import type { BootIdentityPaths } from './boot-identity.js';

/**
 * Where one sandbox's things live:
 *   <stateDir>/sandboxes/<id>/   sandbox.json, config.json (the bundle), disk.img, runc.log: state
 *                                that must survive restarts. sandboxes/ is root-only (0700), as is
 *                                runc's root beside it, whatever the data dir's own mode.
 *                                While paused also pause.json (the commit mark), checkpoint/ (CRIU
 *                                images) and criu/ (CRIU's logs): a paused sandbox is entirely here,
 *                                so it survives a reboot that wipes <runDir>.
 *   <runDir>/sandboxes/<id>/     mount points: disk/ (upper, work), lower/, rootfs/. runc's init
 *                                mounts the rootfs *as container root* (an unprivileged host uid
 *                                under the user namespace), which must be able to traverse the path,
 *                                so these live in a machine-wide tree outside any private dir:
 *                                sandboxes/ is 0711 (not listable), <id>/ is root:<uidBase> 0710, so
 *                                only root and that sandbox's root get in (rootfs/sandbox-rootfs.ts).
 */
export interface SandboxPaths extends RootfsPaths, BootIdentityPaths {
  dir: string;
  mountDir: string;
  config: string;
  runcLog: string;
  pidFile: string;
  /** Present only while paused: written last, after images and disk are durable. */
  pauseRecord: string;
  /** CRIU images of a memory pause. */
  images: string;
  /** Where a dump writes before it is complete (renamed to `images`). */
  imagesPartial: string;
  /** runc's --work-path: CRIU's dump.log / restore.log of the last pause or resume. */
  criuWork: string;
}

export function sandboxesDir(stateDir: string): string {
  return path.join(stateDir, 'sandboxes');
}

export function mountsDir(runDir: string): string {
  return path.join(runDir, 'sandboxes');
}

export function sandboxPaths(stateDir: string, runDir: string, sandboxId: string): SandboxPaths {
  const dir = path.join(sandboxesDir(stateDir), sandboxId);
  const mountDir = path.join(mountsDir(runDir), sandboxId);
  const diskMount = path.join(mountDir, 'disk');
  return {
    dir,
    mountDir,
    diskImage: path.join(dir, 'disk.img'),
    diskMount,
    upper: path.join(diskMount, 'upper'),
    work: path.join(diskMount, 'work'),
    lower: path.join(mountDir, 'lower'),
    rootfs: path.join(mountDir, 'rootfs'),
    config: path.join(dir, 'config.json'),
    runcLog: path.join(dir, 'runc.log'),
    pidFile: path.join(dir, 'pid'),
    pauseRecord: path.join(dir, 'pause.json'),
    images: path.join(dir, 'checkpoint'),
    imagesPartial: path.join(dir, 'checkpoint.partial'),
    criuWork: path.join(dir, 'criu'),
    bootId: path.join(dir, 'boot_id'),
    bootIdSource: path.join(mountDir, 'boot_id'),
    criuConfig: path.join(dir, 'criu.conf'),
  };
}
