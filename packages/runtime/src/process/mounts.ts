import fs from 'node:fs/promises';
import path from 'node:path';
import { SandboxdError } from '@sandboxd/common';

const decodeOctal = (field: string) =>
  field.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));

/** Mounts of this mount namespace, from /proc/self/mountinfo: mount point and source (octal escapes decoded). */
async function listMounts(): Promise<Array<{ mountPoint: string; source: string }>> {
  const text = await fs.readFile('/proc/self/mountinfo', 'utf8');
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const fields = line.split(' ');
      // The optional fields end with "-"; then come fs type and source.
      const dash = fields.indexOf('-');
      return { mountPoint: decodeOctal(fields[4] ?? ''), source: decodeOctal(fields[dash + 2] ?? '') };
    });
}

export async function listMountPoints(): Promise<string[]> {
  return (await listMounts()).map((m) => m.mountPoint);
}

/** Whether a device (a loop device) is the source of any mount in this namespace. */
export async function isMountedDevice(device: string): Promise<boolean> {
  return (await listMounts()).some((m) => m.source === device);
}

/** Mount points at or below any of `dirs`, deepest first (the order to unmount them in). */
export async function mountsUnder(dirs: readonly string[]): Promise<string[]> {
  const under = (await listMountPoints()).filter((m) => dirs.some((d) => isWithin(m, d)));
  return [...new Set(under)].sort((a, b) => b.length - a.length);
}

/** Loop devices and their backing files, from sysfs (no losetup spawn). */
export async function listLoopDevices(): Promise<Array<{ device: string; backingFile: string }>> {
  const names = await fs.readdir('/sys/block').catch(() => [] as string[]);
  const loops = await Promise.all(
    names
      .filter((n) => n.startsWith('loop'))
      .map(async (n) => {
        const backing = await fs.readFile(`/sys/block/${n}/loop/backing_file`, 'utf8').catch(() => '');
        return { device: `/dev/${n}`, backingFile: backing.trim().replace(/ \(deleted\)$/, '') };
      }),
  );
  return loops.filter((l) => l.backingFile !== '');
}

/** Loop devices backed by a file at or below any of `dirs`. */
export async function loopsUnder(dirs: readonly string[]): Promise<Array<{ device: string; backingFile: string }>> {
  return (await listLoopDevices()).filter((l) => dirs.some((d) => isWithin(l.backingFile, d)));
}

function isWithin(p: string, dir: string): boolean {
  return p === dir || p.startsWith(dir.endsWith(path.sep) ? dir : `${dir}${path.sep}`);
}

/**
 * A tree that still has a mount point inside: deleting it would delete through the mount (a
 * template's files, a sandbox's disk). The delete was refused.
 */
export class StillMountedError extends SandboxdError {
  constructor(
    readonly tree: string,
    readonly mounts: readonly string[],
  ) {
    super('RUNTIME_FAILED', `refusing to delete ${tree}: still in use by ${mounts.join(', ')}`);
  }
}

/**
 * `rm -rf` that never deletes through a mount: mountinfo is checked first, and a mount point
 * inside stops the delete of that tree with StillMountedError. (A loop device's backing file is
 * no mount: deleting it only lets the device free it once its last user is gone.)
 */
export async function removeTree(dir: string): Promise<void> {
  const mounts = await mountsUnder([dir]);
  if (mounts.length > 0) throw new StillMountedError(dir, mounts);
  await fs.rm(dir, { recursive: true, force: true });
}
