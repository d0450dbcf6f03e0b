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

export function isDirectory(p: string): Promise<boolean> {
  return fs.stat(p).then(
    (s) => s.isDirectory(),
    () => false,
  );
}
