import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '@sandboxd/common';
import { removeTree } from '../process/mounts.js';
import { readSnapshotRecord } from './snapshot-record.js';

/** The lock file in a template's snapshot dir: held while a snapshot of the template is made or pruned. */
export const snapshotLockName = '.lock';

/**
 * Snapshots of the current build kept per template, the one just made included. Why more than
 * one: the store is shared by every server on the machine, and servers may differ in what the key
 * holds (limits, another checkout's envd bundle or node): keeping only the newest key would make
 * two such servers delete each other's snapshot on every start and boot cold in turns. Why a
 * bound: every envd, node or CRIU upgrade makes a new key of the same build, ~160 MB each.
 */
export const keptPerBuild = 3;

/**
 * Deletes what can no longer be restored or is over the bound, after `keep` was made; called under
 * the template's lock, so every work dir found is a crashed maker's. A snapshot of another build
 * than the current one goes: creates only ever restore the current build (a paused sandbox of an
 * older build resumes from its own images, never from a snapshot), so it is dead weight.
 */
export async function pruneSnapshots(
  templateDir: string,
  keep: string,
  currentBuild: string,
  log: Logger,
): Promise<void> {
  const names = (await fs.readdir(templateDir).catch(() => [] as string[])).filter(
    (n) => n !== keep && n !== snapshotLockName && !n.startsWith(`${snapshotLockName}.`),
  );
  const records = await Promise.all(
    names.map(async (name) => ({ name, record: await readSnapshotRecord(path.join(templateDir, name)) })),
  );
  const current = records
    .filter((r) => r.record?.templateBuild === currentBuild && r.record.key === r.name)
    .sort((a, b) => String(b.record?.createdAt).localeCompare(String(a.record?.createdAt)))
    .slice(0, keptPerBuild - 1)
    .map((r) => r.name);
  for (const { name } of records) {
    if (current.includes(name)) continue;
    await deleteSnapshotDir(path.join(templateDir, name)).catch((err) =>
      log.warn('stale snapshot not deleted', { dir: path.join(templateDir, name), err }),
    );
  }
}

/**
 * Deletes a snapshot dir without ever showing a half-deleted one: it is first renamed away (one
 * atomic step), so a restore in another server that is reading it finds every file at its old
 * path gone and fails, falling back to cold, instead of linking a partial set of images. Files it
 * already linked or opened stay readable (hard links, open descriptors).
 */
export async function deleteSnapshotDir(dir: string): Promise<void> {
  const trash = path.join(path.dirname(dir), `.trash-${path.basename(dir)}-${randomBytes(4).toString('hex')}`);
  try {
    await fs.rename(dir, trash);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  await removeTree(trash);
}
