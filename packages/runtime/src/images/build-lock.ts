import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { isAlive } from '../process/is-alive.js';

/**
 * A machine-wide build lock: a file holding the builder's pid. Several servers share one
 * templates dir (and one snapshots dir), so two of them starting at once must not both build the
 * same thing into it. A lock whose pid is dead (a crashed build) is taken over. The lock appears
 * with its pid already in it (written to a private name, then hard-linked into place, which fails
 * when it exists): a waiter never reads an empty lock and takes it for a crashed one.
 */
export async function acquireBuildLock(
  lockPath: string,
  onWait: () => void,
  signal?: AbortSignal,
): Promise<() => Promise<void>> {
  let warned = false;
  const mine = `${lockPath}.${process.pid}.${randomBytes(4).toString('hex')}`;
  await fs.writeFile(mine, String(process.pid));
  try {
    for (;;) {
      signal?.throwIfAborted();
      try {
        await fs.link(mine, lockPath);
        return () => fs.rm(lockPath, { force: true });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const owner = Number.parseInt(await fs.readFile(lockPath, 'utf8').catch(() => ''), 10);
      if (!Number.isFinite(owner) || !isAlive(owner)) {
        await fs.rm(lockPath, { force: true });
        continue;
      }
      if (!warned) onWait();
      warned = true;
      // Rejects with the signal's own reason, as throwIfAborted does.
      await sleep(1000, undefined, signal ? { signal } : {}).catch((err) => {
        throw signal?.reason ?? err;
      });
    }
  } finally {
    await fs.rm(mine, { force: true });
  }
}
