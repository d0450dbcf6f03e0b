import fs from 'node:fs/promises';
import path from 'node:path';

/** mkdir -p, then 0711 on the dir and its parent (ours): see sandbox-paths.ts. Higher parents must already be traversable. */
export async function makeTraversable(dir: string): Promise<void> {
  await fs.mkdir(dir, { recursive: true });
  for (const d of [path.dirname(dir), dir]) {
    const stat = await fs.stat(d);
    if ((stat.mode & 0o001) === 0) await fs.chmod(d, (stat.mode & 0o777) | 0o711);
  }
}

/**
 * A root-owned dir with exactly `mode`: created with it (mkdir applies the mode atomically, and
 * the umask can only take bits away), and set again when it already existed with another mode
 * (made by an older version). Its parents are made as mkdir -p makes them.
 */
export async function ensurePrivateDir(dir: string, mode: number): Promise<void> {
  await fs.mkdir(path.dirname(dir), { recursive: true });
  await fs.mkdir(dir, { mode }).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'EEXIST') throw err;
  });
  const stat = await fs.stat(dir);
  if (stat.uid !== 0 || stat.gid !== 0) await fs.chown(dir, 0, 0);
  if ((stat.mode & 0o7777) !== mode) await fs.chmod(dir, mode);
}

export function isDirectory(p: string): Promise<boolean> {
  return fs.stat(p).then(
    (s) => s.isDirectory(),
    () => false,
  );
}
