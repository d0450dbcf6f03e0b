import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCommand } from '../process/run-command.js';
import { fileExists, installOnce, tmpName } from './install-once.js';

/** Small host programs the runtime needs, installed into a helpers dir (compiled/copied on demand). */
export interface HelperPaths {
  /** `idmount SRC DST BASE COUNT`: idmapped read-only bind mount (see native/idmount.c). */
  idmount: string;
  /** OCI prestart hook that plumbs the sandbox's veth (see native/nethook.sh). */
  netHook: string;
  /** OCI prestart hook that binds the sandbox's own boot id (see native/bootid-hook.sh). */
  bootIdHook: string;
  /**
   * envd's native helper (terminals, inotify), bind-mounted into every sandbox (see
   * native/envd-helper.c): `envd-helper-<hash of source and build>`, never rewritten.
   */
  envdHelper: string;
}

export const defaultHelpersDir = '/var/lib/sandboxd/helpers';
export const nativeDir = fileURLToPath(new URL('../../native/', import.meta.url));

/** How each helper is made from its source: compiled (with these gcc flags) or copied as a script. */
const recipes = {
  idmount: { source: 'idmount.c', gcc: ['-O2', '-Wall'] },
  // Static: it runs inside sandboxes, whose template may carry any (or no) libc.
  envdHelper: { source: 'envd-helper.c', gcc: ['-O2', '-Wall', '-static'] },
  netHook: { source: 'nethook.sh' },
  bootIdHook: { source: 'bootid-hook.sh' },
} as Record<keyof HelperPaths, { source: string; gcc?: string[] }>;

/**
 * Where the helpers built from `sourcesDir` (default: this package's native/) live: each is named
 * `<source name>-<hash of source and build>`, so a new version goes to a new file. Several servers
 * (and checkouts of different versions) share one helpers dir: each finds the version it was
 * written for, sandboxes started or paused with an older one keep it (config.json names the
 * envd helper's bind source and the hooks by path), and nothing flips between versions.
 */
export function helperPaths(helpersDir: string, sourcesDir: string = nativeDir): HelperPaths {
  const entries = Object.entries(recipes).map(([key, recipe]) => {
    const hash = createHash('sha256')
      .update((recipe.gcc ?? ['copy']).join(' '))
      .update('\0')
      .update(readFileSync(path.join(sourcesDir, recipe.source)))
      .digest('hex')
      .slice(0, 16);
    // idmount.c → idmount-<hash>, nethook.sh → nethook-<hash>.sh
    const ext = path.extname(recipe.source);
    const stem = path.basename(recipe.source, ext);
    const name = ext === '.c' ? `${stem}-${hash}` : `${stem}-${hash}${ext}`;
    return [key, path.join(helpersDir, name)];
  });
  return Object.fromEntries(entries) as unknown as HelperPaths;
}

/**
 * Builds the helpers that are missing. Each is written under a temporary name and installed once
 * under its content name, never replaced (see install-once.ts): a concurrent reader sees the file
 * or nothing, never half of it, and a running or paused sandbox never has one changed under it.
 */
export async function ensureHelpers(
  helpersDir: string = defaultHelpersDir,
  sourcesDir: string = nativeDir,
): Promise<HelperPaths> {
  const paths = helperPaths(helpersDir, sourcesDir);
  await fs.mkdir(helpersDir, { recursive: true });
  for (const [key, recipe] of Object.entries(recipes) as Array<
    [keyof HelperPaths, (typeof recipes)[keyof HelperPaths]]
  >) {
    const target = paths[key];
    if (await fileExists(target)) continue;
    const tmp = tmpName(target);
    const source = path.join(sourcesDir, recipe.source);
    if (recipe.gcc) {
      await runCommand('gcc', [...recipe.gcc, '-o', tmp, source], { timeoutMs: 60_000 });
    } else {
      await fs.copyFile(source, tmp);
      await fs.chmod(tmp, 0o755);
    }
    await installOnce(tmp, target);
  }
  return paths;
}
