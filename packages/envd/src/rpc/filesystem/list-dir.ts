/**
 * ListDir's walk: every entry up to `depth` levels, directories pre-order with children sorted by
 * name (lexical walk order). Symlinks are listed but never followed during the walk. Only the
 * listed directory itself must be readable: a subdirectory that is not (a /proc entry, a 0700
 * directory of another user) is listed without its children.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { errnoToError } from '../../system/errno.js';
import { type EntryContext, type EntryInfoInit, entryInfo } from './entry-info.js';

export async function listDir(dir: string, depth: number, ctx: EntryContext): Promise<EntryInfoInit[]> {
  const entries: EntryInfoInit[] = [];
  await walk(dir, 1, Math.max(1, depth), ctx, entries);
  return entries;
}

async function walk(dir: string, level: number, depth: number, ctx: EntryContext, out: EntryInfoInit[]): Promise<void> {
  const children = await fs.readdir(dir).catch((err) => {
    if (level > 1) return [];
    throw errnoToError(err, dir);
  });
  children.sort();
  for (const child of children) {
    const childPath = path.join(dir, child);
    const stat = await fs.lstat(childPath).catch(() => undefined);
    if (!stat) continue; // removed while we walked
    out.push(await entryInfo(childPath, ctx, stat));
    if (stat.isDirectory() && level < depth) await walk(childPath, level + 1, depth, ctx, out);
  }
}
