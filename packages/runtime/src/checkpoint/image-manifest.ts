import fs from 'node:fs/promises';
import path from 'node:path';
import { SandboxdError } from '@sandboxd/common';

/** Each CRIU image file of a memory pause and its size in bytes, as the pause made them. */
export type ImageManifest = Record<string, number>;

/** The images directory's regular files and their sizes (CRIU writes a flat directory). */
export async function imageManifest(dir: string): Promise<ImageManifest> {
  const manifest: ImageManifest = {};
  for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
    if (entry.isFile()) manifest[entry.name] = (await fs.stat(path.join(dir, entry.name))).size;
  }
  return manifest;
}

/**
 * Refuses a restore from images that are not the ones the pause wrote: a missing or resized file.
 * CRIU's restorer does not check this itself: a short pages image makes it loop on reads that
 * return nothing until runc is killed, and what it restored so far is left holding the disk.
 * Files a restore adds (stats-restore) are not in the manifest and do not matter. Contents of
 * the same size are CRIU's to judge (its images carry magic numbers).
 */
export async function assertImagesIntact(dir: string, expected: ImageManifest, sandboxId: string): Promise<void> {
  const found = await imageManifest(dir).catch(() => ({}) as ImageManifest);
  const damaged = Object.entries(expected)
    .filter(([name, size]) => found[name] !== size)
    .map(([name, size]) => `${name}: ${found[name] ?? 'missing'} bytes, ${size} at the pause`);
  if (damaged.length > 0) {
    throw new SandboxdError(
      'RUNTIME_FAILED',
      `the memory images of sandbox ${sandboxId} are damaged (${damaged.slice(0, 3).join('; ')}); ` +
        'it stays paused and can boot afresh from its disk (memory: false)',
    );
  }
}
