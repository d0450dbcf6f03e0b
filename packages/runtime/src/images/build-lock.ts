import fs from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { isAlive } from '../process/is-alive.js';

/**
 * A machine-wide build lock: an exclusive-create file holding the builder's pid. Several servers
 * share one templates dir, so two of them starting at once must not both debootstrap into it.
 * A lock whose pid is dead (a crashed build) is taken over.
 */
export async function acquireBuildLock(lockPath: string, onWait: () => void): Promise<() => Promise<void>> {
  let warned = false;
  for (;;) {
    try {
      await fs.writeFile(lockPath, String(process.pid), { flag: 'wx' });
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
    await sleep(1000);
  }
}
