import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCommand } from '../process/run-command.js';

/** Small host programs the runtime needs, installed into a helpers dir (compiled/copied on demand). */
export interface HelperPaths {
  /** `idmount SRC DST BASE COUNT`: idmapped read-only bind mount (see native/idmount.c). */
  idmount: string;
  /** OCI prestart hook that plumbs the sandbox's veth (see native/nethook.sh). */
  netHook: string;
  /** envd's native helper (terminals, inotify), bind-mounted into every sandbox (see native/envd-helper.c). */
  envdHelper: string;
}

export const defaultHelpersDir = '/var/lib/sandboxd/helpers';
const nativeDir = fileURLToPath(new URL('../../native/', import.meta.url));

export function helperPaths(helpersDir: string): HelperPaths {
  return {
    idmount: path.join(helpersDir, 'idmount'),
    netHook: path.join(helpersDir, 'nethook.sh'),
    envdHelper: path.join(helpersDir, 'envd-helper'),
  };
}

/**
 * Builds or refreshes the helpers when missing or older than their source. Several servers may
 * share one helpers dir, so each output is written under a temporary name and renamed into place:
 * a concurrent reader sees either the old or the new file, never a half-written one.
 */
export async function ensureHelpers(helpersDir: string = defaultHelpersDir): Promise<HelperPaths> {
  const paths = helperPaths(helpersDir);
  await fs.mkdir(helpersDir, { recursive: true });
  const idmountSource = path.join(nativeDir, 'idmount.c');
  if (await isStale(paths.idmount, idmountSource)) {
    const tmp = `${paths.idmount}.${process.pid}.tmp`;
    await runCommand('gcc', ['-O2', '-Wall', '-o', tmp, idmountSource], { timeoutMs: 60_000 });
    await fs.rename(tmp, paths.idmount);
  }
  const helperSource = path.join(nativeDir, 'envd-helper.c');
  // Staleness by content hash, not mtime: it changes often, and an mtime race left an old build.
  const helperHash = createHash('sha256')
    .update(await fs.readFile(helperSource))
    .digest('hex');
  const hashFile = `${paths.envdHelper}.sha256`;
  const builtHash = await fs.readFile(hashFile, 'utf8').catch(() => '');
  if (builtHash !== helperHash || !(await fs.stat(paths.envdHelper).catch(() => undefined))) {
    // Static: it runs inside sandboxes, whose template may carry any (or no) libc.
    const tmp = `${paths.envdHelper}.${process.pid}.tmp`;
    await runCommand('gcc', ['-O2', '-Wall', '-static', '-o', tmp, helperSource], { timeoutMs: 60_000 });
    await fs.rename(tmp, paths.envdHelper);
    await fs.writeFile(`${hashFile}.${process.pid}.tmp`, helperHash);
    await fs.rename(`${hashFile}.${process.pid}.tmp`, hashFile);
  }
  const hookSource = path.join(nativeDir, 'nethook.sh');
  if (await isStale(paths.netHook, hookSource)) {
    const tmp = `${paths.netHook}.${process.pid}.tmp`;
    await fs.copyFile(hookSource, tmp);
    await fs.chmod(tmp, 0o755);
    await fs.rename(tmp, paths.netHook);
  }
  return paths;
}

async function isStale(output: string, source: string): Promise<boolean> {
  const [out, src] = await Promise.all([fs.stat(output).catch(() => undefined), fs.stat(source)]);
  return !out || out.mtimeMs < src.mtimeMs;
}
