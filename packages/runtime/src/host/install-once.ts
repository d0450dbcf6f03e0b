import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';

/**
 * Moves the finished file `tmp` to `target` unless a file is already there, and never replaces
 * one: link(2) fails with EEXIST instead. Bind-mount sources must keep their inode for as long as
 * any sandbox (running or paused) refers to them: a rename over one leaves the sandbox's mount on
 * a deleted inode, and CRIU then refuses to restore it ("Can't re-create deleted file").
 * Targets are named by content, so the file that won the race is as good as ours.
 */
export async function installOnce(tmp: string, target: string): Promise<void> {
  try {
    await fs.link(tmp, target);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    await fs.rm(tmp, { force: true });
  }
}

export function fileExists(p: string): Promise<boolean> {
  return fs.stat(p).then(
    () => true,
    () => false,
  );
}

/** A temporary name beside `target`, unique across processes and concurrent calls in one. */
export function tmpName(target: string): string {
  return `${target}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
}
