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
// Static: it runs inside sandboxes, whose template may carry any (or no) libc.
const envdHelperFlags = ['-O2', '-Wall', '-static'];

/**
 * Where the helpers built from `sourcesDir` (default: this package's native/) live. The envd
 * helper's name carries the hash of its source and flags, so a new version goes to a new file and
 * sandboxes started (or paused) with an older one keep theirs.
 */
export function helperPaths(helpersDir: string, sourcesDir: string = nativeDir): HelperPaths {
  const hash = createHash('sha256')
    .update(envdHelperFlags.join(' '))
    .update('\0')
    .update(readFileSync(path.join(sourcesDir, 'envd-helper.c')))
    .digest('hex')
    .slice(0, 16);
  return {
    idmount: path.join(helpersDir, 'idmount'),
    netHook: path.join(helpersDir, 'nethook.sh'),
    bootIdHook: path.join(helpersDir, 'bootid-hook.sh'),
    envdHelper: path.join(helpersDir, `envd-helper-${hash}`),
  };
}

/**
 * Builds the helpers that are missing or older than their source. Several servers may share one
 * helpers dir, so each output is written under a temporary name first: a concurrent reader sees
 * the old or the new file, never a half-written one. idmount and the hook run on the host, fresh
 * at every use, and are renamed over; the envd helper is bind-mounted into sandboxes, so it is
 * installed once under its content name and never replaced (see install-once.ts).
 */
export async function ensureHelpers(
  helpersDir: string = defaultHelpersDir,
  sourcesDir: string = nativeDir,
): Promise<HelperPaths> {
  const paths = helperPaths(helpersDir, sourcesDir);
  await fs.mkdir(helpersDir, { recursive: true });
  const idmountSource = path.join(sourcesDir, 'idmount.c');
  if (await isStale(paths.idmount, idmountSource)) {
    const tmp = tmpName(paths.idmount);
    await runCommand('gcc', ['-O2', '-Wall', '-o', tmp, idmountSource], { timeoutMs: 60_000 });
    await fs.rename(tmp, paths.idmount);
  }
  if (!(await fileExists(paths.envdHelper))) {
    const tmp = tmpName(paths.envdHelper);
    const source = path.join(sourcesDir, 'envd-helper.c');
    await runCommand('gcc', [...envdHelperFlags, '-o', tmp, source], { timeoutMs: 60_000 });
    await installOnce(tmp, paths.envdHelper);
  }
  for (const [name, target] of [
    ['nethook.sh', paths.netHook],
    ['bootid-hook.sh', paths.bootIdHook],
  ] as const) {
    const hookSource = path.join(sourcesDir, name);
    if (await isStale(target, hookSource)) {
      const tmp = tmpName(target);
      await fs.copyFile(hookSource, tmp);
      await fs.chmod(tmp, 0o755);
      await fs.rename(tmp, target);
    }
  }
  return paths;
}

async function isStale(output: string, source: string): Promise<boolean> {
  const [out, src] = await Promise.all([fs.stat(output).catch(() => undefined), fs.stat(source)]);
  return !out || out.mtimeMs < src.mtimeMs;
}
