import { setTimeout as sleep } from 'node:timers/promises';
import { loopsUnder, mountsUnder } from '../process/mounts.js';
import { tryCommand } from '../process/run-command.js';

/**
 * The rootfs teardown: every mount of a sandbox really gone, never detached lazily. `umount -l`
 * only hides a mount: its superblock lives on while anything still holds it (the container's
 * mount namespace while its last processes exit, an open file), and with it the overlay's claim on
 * its upper dir ("upperdir is in-use" at the next mount) and the ext4 of disk.img (a second mount
 * of the same image would corrupt it). So busy mounts are retried until the holder lets go, and a
 * loop device still backed by the disk image, the one sign that its ext4 still lives somewhere,
 * is waited for too.
 */
const defaultPatienceMs = 5_000;

/** Unmounts every mount point at or below `dirs`, deepest first; returns those still mounted after `patienceMs`. */
export async function unmountTree(dirs: readonly string[], patienceMs = defaultPatienceMs): Promise<string[]> {
  return untilGone(
    () => mountsUnder(dirs),
    (mounted) => tryCommand('umount', mounted),
    patienceMs,
  );
}

/**
 * Detaches loop devices backed by files at or below `dirs` and waits until the kernel has let go
 * of them (`mount -o loop` sets autoclear: the device goes with the last user of its filesystem);
 * returns the devices still attached after `patienceMs`.
 */
export async function detachLoops(dirs: readonly string[], patienceMs = defaultPatienceMs): Promise<string[]> {
  const left = await untilGone(
    async () => (await loopsUnder(dirs)).map((l) => l.device),
    async (devices) => {
      for (const device of devices) await tryCommand('losetup', ['-d', device]);
    },
    patienceMs,
  );
  return left;
}

async function untilGone(
  list: () => Promise<string[]>,
  remove: (items: string[]) => Promise<unknown>,
  patienceMs: number,
): Promise<string[]> {
  const end = performance.now() + patienceMs;
  let delayMs = 10;
  for (;;) {
    const items = await list();
    if (items.length === 0 || performance.now() >= end) return items;
    await remove(items);
    const left = await list();
    if (left.length === 0) return [];
    await sleep(delayMs);
    delayMs = Math.min(delayMs * 2, 250);
  }
}
