/**
 * The mount points that a remove or a move would cut through. Removing `/`, `/proc` or a
 * bind-mounted file (envd's own bundle, /etc/hosts) fails with EBUSY only after a recursive
 * remove has already deleted everything around it; so envd refuses up front, and deletes nothing,
 * when the path is a mount point or holds one.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { SandboxdError } from '@sandboxd/common';

/** Mount points from /proc/self/mountinfo (field 5, with its octal escapes undone). */
async function mountPoints(): Promise<string[]> {
  const text = await fs.readFile('/proc/self/mountinfo', 'utf8').catch(() => '');
  const points: string[] = [];
  for (const line of text.split('\n')) {
    const field = line.split(' ')[4];
    if (field)
      points.push(field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8))));
  }
  return points;
}

/**
 * Throws PATH_BUSY when `target` is a mount point or has one below it. The parent is resolved
 * first: `~/link-to-root/etc` reaches the real /etc, while the last component (a symlink itself)
 * is what a remove or a move acts on.
 */
export async function refuseMountPoints(given: string, verb: 'remove' | 'move'): Promise<void> {
  const parent = await fs.realpath(path.dirname(given)).catch(() => path.dirname(given));
  const target = given === '/' ? '/' : path.join(parent, path.basename(given));
  const prefix = target === '/' ? '/' : `${target}/`;
  const inside = (await mountPoints()).filter((point) => point === target || point.startsWith(prefix));
  if (inside.length === 0) return;
  const shown = inside.slice(0, 3).join(', ') + (inside.length > 3 ? ', …' : '');
  const what = inside.includes(target) ? 'is a mount point' : `holds mount points (${shown})`;
  throw new SandboxdError('PATH_BUSY', `cannot ${verb} '${target}': it ${what}`);
}
