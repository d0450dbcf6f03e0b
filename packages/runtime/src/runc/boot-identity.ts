import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';

/** Where the sandbox sees its boot id (the kernel's file, with the sandbox's own bound over it). */
export const bootIdPath = '/proc/sys/kernel/random/boot_id';
/** The CRIU key of that bind mount in the images. */
const bootIdKey = 'sandboxd-boot-id';

export interface BootIdentityPaths {
  /** The sandbox's boot id, in its state dir: a new one at every boot, kept across a memory pause. */
  bootId: string;
  /**
   * Its copy beside the mount points, which the bind is made from: CRIU restores the bind from
   * inside the sandbox's user namespace, so the source must be reachable by the sandbox's root
   * (the mount dir is), and the state dir may be private.
   */
  bootIdSource: string;
  /** CRIU options for this sandbox (runc passes the file through the `org.criu.config` annotation). */
  criuConfig: string;
}

/**
 * Run right before `runc run` or `runc restore`. A boot (create, or the cold boot of a
 * filesystem-only resume) gets a new boot id, as a VM would; a memory restore keeps the one its
 * processes saw (a sandbox made before boot ids existed gets one: its images have no such mount).
 * Then the id is copied beside the mount points, which a reboot may have wiped.
 */
export async function prepareBootId(paths: BootIdentityPaths, boot: 'boot' | 'restore'): Promise<void> {
  const kept = boot === 'restore' ? await fs.readFile(paths.bootId, 'utf8').catch(() => undefined) : undefined;
  const id = kept ?? `${randomUUID()}\n`;
  if (!kept) await fs.writeFile(paths.bootId, id, { mode: 0o600 });
  await fs.writeFile(paths.bootIdSource, id, { mode: 0o644 });
  await fs.chmod(paths.bootIdSource, 0o644);
  await writeCriuConfig(paths);
}

/**
 * The boot id bind is made by a hook (see native/bootid-hook.sh), not by runc, so runc does not
 * tell CRIU about it. CRIU reads this file at dump and at restore: at dump the mount is external
 * under a key; at restore the key is bound from the boot id's copy again. Each line means nothing
 * to the other direction (no mount point is named like the key, no image mount is keyed by the
 * path), so one file serves both.
 */
async function writeCriuConfig(paths: BootIdentityPaths): Promise<void> {
  const lines = [`external mnt[${bootIdPath}]:${bootIdKey}`, `external mnt[${bootIdKey}]:${paths.bootIdSource}`];
  await fs.writeFile(paths.criuConfig, `${lines.join('\n')}\n`, { mode: 0o600 });
}
