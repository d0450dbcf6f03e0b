/**
 * EntryInfo as the SDK reads it (e2b-protocol §3.5): absolute `path`, permission bits only in
 * `mode`, Go-style `permissions` ("-rw-r--r--", "drwxr-xr-x", "Lrwxrwxrwx"), owner/group names,
 * and the absolute resolved target of a symlink.
 */
import type { Stats } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { MessageInitShape } from '@bufbuild/protobuf';
import { timestampFromMs } from '@bufbuild/protobuf/wkt';
import { type EntryInfoSchema, FileType } from '@sandboxd/protocol';
import { errnoToError } from '../../system/errno.js';
import type { FileMetadataStore } from '../../system/file-metadata.js';
import type { IdNames } from '../../system/users.js';

export type EntryInfoInit = MessageInitShape<typeof EntryInfoSchema>;

/** What entryInfo needs besides the path: id → name tables and the metadata (xattr) store. */
export interface EntryContext {
  names: IdNames;
  metadata: FileMetadataStore;
}

export async function entryInfo(filePath: string, ctx: EntryContext, stat?: Stats): Promise<EntryInfoInit> {
  const lstat =
    stat ??
    (await fs.lstat(filePath).catch((err) => {
      throw errnoToError(err, filePath);
    }));
  const entry: EntryInfoInit = {
    name: path.basename(filePath),
    type: fileType(lstat),
    path: filePath,
    size: BigInt(lstat.size),
    mode: lstat.mode & 0o777,
    permissions: goModeString(lstat),
    owner: ctx.names.user(lstat.uid),
    group: ctx.names.group(lstat.gid),
    modifiedTime: timestampFromMs(Math.floor(lstat.mtimeMs)),
  };
  if (lstat.isSymbolicLink()) entry.symlinkTarget = await symlinkTarget(filePath);
  const metadata = await ctx.metadata.get(filePath);
  if (Object.keys(metadata).length > 0) entry.metadata = metadata;
  return entry;
}

function fileType(stat: Stats): FileType {
  if (stat.isSymbolicLink()) return FileType.SYMLINK;
  if (stat.isDirectory()) return FileType.DIRECTORY;
  return FileType.FILE;
}

/** A relative `ln -s a.txt b` must report `/home/user/a.txt`, even when the target is missing. */
async function symlinkTarget(filePath: string): Promise<string> {
  try {
    return await fs.realpath(filePath);
  } catch {
    const link = await fs.readlink(filePath).catch(() => '');
    return path.resolve(path.dirname(filePath), link);
  }
}

/** Go's os.FileMode.String(): type letters from "dalTLDpSugct?" (or '-'), then rwx triples. */
function goModeString(stat: Stats): string {
  let letters = '';
  if (stat.isDirectory()) letters += 'd';
  if (stat.isSymbolicLink()) letters += 'L';
  if (stat.isBlockDevice() || stat.isCharacterDevice()) letters += 'D';
  if (stat.isFIFO()) letters += 'p';
  if (stat.isSocket()) letters += 'S';
  if (stat.mode & 0o4000) letters += 'u';
  if (stat.mode & 0o2000) letters += 'g';
  if (stat.isCharacterDevice()) letters += 'c';
  if (stat.mode & 0o1000) letters += 't';
  const rwx = 'rwxrwxrwx';
  let bits = '';
  for (let i = 0; i < 9; i++) bits += stat.mode & (1 << (8 - i)) ? rwx[i] : '-';
  return (letters || '-') + bits;
}
