/**
 * EntryInfo as E2B's SDKs read it: absolute `path`, permission bits only in `mode`, Go-style
 * `permissions` ("-rw-r--r--", "drwxr-xr-x", "Lrwxrwxrwx"), owner/group names.
 *
 * A symlink is described as E2B's envd does: `type` and `mode` are its target's (file or dir),
 * `symlinkTarget` is the target's absolute path (fully resolved), and `permissions`, `size`,
 * owner and mtime stay the link's own. A dangling link (or a loop) has no target to describe:
 * it is reported as type SYMLINK with the absolute path it points to. (E2B's envd reports such a
 * link with an unspecified type, which the JS SDK's `list()` silently drops; SYMLINK keeps it
 * visible as what it is.)
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
  const target = lstat.isSymbolicLink() ? await resolveSymlink(filePath) : undefined;
  const described = target?.stat ?? lstat;
  const entry: EntryInfoInit = {
    name: path.basename(filePath),
    type: fileType(described),
    path: filePath,
    size: BigInt(lstat.size),
    mode: described.mode & 0o777,
    permissions: goModeString(lstat),
    owner: ctx.names.user(lstat.uid),
    group: ctx.names.group(lstat.gid),
    modifiedTime: timestampFromMs(Math.floor(lstat.mtimeMs)),
  };
  if (target) entry.symlinkTarget = target.path;
  const metadata = await ctx.metadata.get(filePath);
  if (Object.keys(metadata).length > 0) entry.metadata = metadata;
  return entry;
}

function fileType(stat: Stats): FileType {
  if (stat.isSymbolicLink()) return FileType.SYMLINK;
  if (stat.isDirectory()) return FileType.DIRECTORY;
  return FileType.FILE;
}

/**
 * A relative `ln -s a.txt b` reports `/home/user/a.txt`, also when the target is missing; `stat`
 * is the target's, or undefined for a dangling link or a loop.
 */
async function resolveSymlink(filePath: string): Promise<{ path: string; stat: Stats | undefined }> {
  try {
    const resolved = await fs.realpath(filePath);
    return { path: resolved, stat: await fs.stat(resolved).catch(() => undefined) };
  } catch {
    const link = await fs.readlink(filePath).catch(() => '');
    return { path: path.resolve(path.dirname(filePath), link), stat: undefined };
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
