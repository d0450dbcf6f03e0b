import fs from 'node:fs/promises';
import { removeTree } from '../process/mounts.js';
import type { PausedSandbox } from '../runtime.js';
import { fsyncPath, writeFileDurable } from './durable.js';

/**
 * `pause.json`: the commit mark of a pause. It is written last, after the images (if any) and the
 * disk image are durable, so its presence alone means "paused, and resumable"; resume removes it
 * only once the sandbox runs again.
 */
export async function writePauseRecord(file: string, paused: PausedSandbox): Promise<void> {
  await writeFileDurable(file, `${JSON.stringify(paused, null, 2)}\n`);
}

export async function readPauseRecord(file: string): Promise<PausedSandbox | undefined> {
  try {
    return JSON.parse(await fs.readFile(file, 'utf8')) as PausedSandbox;
  } catch {
    return undefined;
  }
}

/** Ends a pause: the record first (the commit: "not paused any more"), then the images it pointed at. */
export async function removePauseRecord(paths: { dir: string; pauseRecord: string; images: string }): Promise<void> {
  await fs.rm(paths.pauseRecord, { force: true });
  await fsyncPath(paths.dir);
  await removeTree(paths.images);
}
