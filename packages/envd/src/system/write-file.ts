/**
 * Writes one uploaded file as the requesting user: parents created and owned by the user, the
 * file itself 0644 and owned by the user. Writes in place (O_TRUNC) rather than through a temp
 * file + rename, so watchers see a WRITE on the file itself, as E2B's envd produces. Only regular
 * files are written: opened non-blocking (a FIFO cannot hang envd) and checked after the open.
 */
import { constants } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { SandboxdError } from '@sandboxd/common';
import { errnoToError } from './errno.js';
import { makeDirsOwnedBy } from './make-parents.js';
import type { SandboxUser } from './users.js';

/** Returns whether the file existed before (and so may carry metadata to clear). */
export async function writeFileAsUser(source: Readable, filePath: string, user: SandboxUser): Promise<boolean> {
  await makeDirsOwnedBy(path.dirname(filePath), user);
  let existed = false;
  const { O_WRONLY, O_CREAT, O_EXCL, O_NONBLOCK } = constants;
  const handle = await fs
    .open(filePath, O_WRONLY | O_CREAT | O_EXCL | O_NONBLOCK, 0o644)
    .catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err;
      existed = true;
      return fs.open(filePath, O_WRONLY | O_NONBLOCK, 0o644);
    })
    .catch((err) => {
      throw errnoToError(err, filePath);
    });
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw new SandboxdError('INVALID_REQUEST', `path '${filePath}' is not a regular file`);
    // Truncated only now that it is known to be a regular file.
    if (existed) await handle.truncate(0);
    await handle.chown(user.uid, user.gid);
    // autoClose must stay on: with it off, the write stream never emits 'close' and pipeline()
    // never settles, so the upload answers nothing (the file is complete on disk all the same).
    await pipeline(source, handle.createWriteStream({ highWaterMark: 1024 * 1024 }));
  } catch (err) {
    throw errnoToError(err, filePath);
  } finally {
    await handle.close().catch(() => {});
  }
  return existed;
}
