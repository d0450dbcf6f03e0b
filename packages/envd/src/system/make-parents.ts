/**
 * `mkdir -p` that hands every directory it creates to the requesting user, so a write as `user`
 * to `/0/x.txt` leaves `/0` owned by `user`, as E2B's envd does. Existing
 * directories keep their owner.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { errnoToError } from './errno.js';
import type { SandboxUser } from './users.js';

/** Creates `dir` and its missing parents; returns true when `dir` itself was created. */
export async function makeDirsOwnedBy(dir: string, user: SandboxUser): Promise<boolean> {
  const missing: string[] = [];
  for (let current = path.resolve(dir); ; current = path.dirname(current)) {
    const stat = await fs.stat(current).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw errnoToError(err, current);
    });
    if (stat) {
      if (!stat.isDirectory()) throw errnoToError(Object.assign(new Error(), { code: 'ENOTDIR' }), dir);
      break;
    }
    missing.unshift(current);
    if (current === path.dirname(current)) break;
  }
  for (const created of missing) {
    try {
      await fs.mkdir(created, { mode: 0o755 });
    } catch (err) {
      // Another request may have created it meanwhile; that is fine.
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') continue;
      throw errnoToError(err, created);
    }
    await fs.chown(created, user.uid, user.gid).catch((err) => {
      throw errnoToError(err, created);
    });
  }
  return missing.length > 0;
}
