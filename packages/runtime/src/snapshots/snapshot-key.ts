import { createHash } from 'node:crypto';
import path from 'node:path';
import type { SandboxLimits } from '../runtime.js';

/** Bumped when the layout of a snapshot or the way one is restored changes. */
const formatVersion = 1;

export interface SnapshotKeyParts {
  templateBuild: string;
  /** Content-named staged files (host/staged-file.ts, ensure-helpers.ts): their names are their hashes. */
  envdBundle: string;
  node: string;
  envdHelper: string;
  criuVersion: string;
  limits: SandboxLimits;
}

/**
 * What a snapshot depends on: the template build (its rootfs is the lower layer the copied upper
 * was made on), the envd and node the dumped processes run (the restore binds the same files),
 * the CRIU that reads the images, and the limits it was made under (the disk image's size, the
 * memory the restored processes already use). Any change gives a new key: a new snapshot, the
 * old one deleted.
 */
export function snapshotKey(parts: SnapshotKeyParts): string {
  const { limits } = parts;
  const text = [
    `v${formatVersion}`,
    parts.templateBuild,
    path.basename(parts.envdBundle),
    path.basename(parts.node),
    path.basename(parts.envdHelper),
    parts.criuVersion,
    `${limits.cpuCount}/${limits.memoryMiB}/${limits.diskSizeMiB}/${limits.pids}`,
  ].join('\n');
  return createHash('sha256').update(text).digest('hex').slice(0, 20);
}

export function sameLimits(a: SandboxLimits, b: SandboxLimits): boolean {
  return (
    a.cpuCount === b.cpuCount && a.memoryMiB === b.memoryMiB && a.diskSizeMiB === b.diskSizeMiB && a.pids === b.pids
  );
}
