import fs from 'node:fs/promises';
import path from 'node:path';
import type { SandboxLimits } from '../runtime.js';

/**
 * One ready snapshot of a template, `<snapshotsDir>/<templateId>/<key>/` (machine-wide):
 *   images/         CRIU images of the snapshot sandbox, dumped once its ready check passed
 *   disk.img        its sparse ext4 disk (overlay upper + work)
 *   snapshot.json   this record (written last: a dir without it is unfinished and is deleted)
 * Root-only (0700): the images hold the snapshot's memory, its init token included.
 */
export interface SnapshotRecord {
  key: string;
  templateId: string;
  templateBuild: string;
  /** The snapshot sandbox's uid base: the owners on its disk and the host side of its userns image. */
  uidBase: number;
  limits: SandboxLimits;
  /** Host files behind the read-only binds at dump; a restore binds the same ones (resume-config.ts). */
  binds: { node: string; envdHelper: string; envdBundle: string };
  /**
   * The init token the snapshot's envd holds in memory: every restored copy is handed over to its
   * owner (or a fresh pool token) with it, once, right after the restore. Known only to the host.
   */
  initToken: string;
  imageBytes: number;
  /** Blocks the sparse disk image really uses on the host. */
  diskBytes: number;
  createdAt: string;
}

export const snapshotRecordName = 'snapshot.json';

export interface SnapshotPaths {
  dir: string;
  images: string;
  diskImage: string;
  record: string;
}

/**
 * Where the ready snapshots of a template store live by default: beside it in the standard layout
 * (`/var/lib/sandboxd/templates` → `/var/lib/sandboxd/snapshots`); inside any other templates dir
 * (`<dir>/.snapshots`, not a template name), so a private store (a test's, a custom one) keeps
 * its snapshots with it: deleting it deletes them, and two such stores never share one.
 */
export function defaultSnapshotsDir(templatesDir: string): string {
  const dir = path.resolve(templatesDir);
  return path.basename(dir) === 'templates' ? path.join(path.dirname(dir), 'snapshots') : path.join(dir, '.snapshots');
}

export function snapshotPaths(dir: string): SnapshotPaths {
  return {
    dir,
    images: path.join(dir, 'images'),
    diskImage: path.join(dir, 'disk.img'),
    record: path.join(dir, snapshotRecordName),
  };
}

export async function readSnapshotRecord(dir: string): Promise<SnapshotRecord | undefined> {
  try {
    return JSON.parse(await fs.readFile(path.join(dir, snapshotRecordName), 'utf8')) as SnapshotRecord;
  } catch {
    return undefined;
  }
}
