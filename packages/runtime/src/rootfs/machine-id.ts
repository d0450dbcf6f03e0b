import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';

/**
 * Gives a new sandbox its own /etc/machine-id (32 hex digits, as systemd-machine-id-setup writes
 * it): the template ships none, so no two sandboxes share one, and none is the host's. Written
 * through the overlay (so it lands in the sandbox's upper dir) and owned by the sandbox's root.
 * Kept for the sandbox's life, across pauses and cold boots, as a VM keeps its own.
 */
export async function writeMachineId(rootfs: string, uidBase: number): Promise<void> {
  const etc = path.join(rootfs, 'etc');
  if (
    !(await fs.stat(etc).then(
      (s) => s.isDirectory(),
      () => false,
    ))
  )
    return;
  const file = path.join(etc, 'machine-id');
  await fs.rm(file, { force: true });
  await fs.writeFile(file, `${randomBytes(16).toString('hex')}\n`, { mode: 0o444, flag: 'wx' });
  await fs.chown(file, uidBase, uidBase);
}
