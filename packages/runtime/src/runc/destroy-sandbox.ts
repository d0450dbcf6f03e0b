import fs from 'node:fs/promises';
import { SandboxdError } from '@sandboxd/common';
import { removeSandboxCgroups } from '../cgroups/cgroup-v1.js';
import { deleteVeth } from '../netns/veth.js';
import { listMountPoints } from '../process/mounts.js';
import { unmountSandboxRootfs } from '../rootfs/sandbox-rootfs.js';
import type { SlotClaims } from '../slots/slot-claims.js';
import type { RuncCli } from './runc-cli.js';
import type { SandboxPaths } from './sandbox-paths.js';
import { readRecord } from './sandbox-record.js';

/**
 * Removes every host resource of one sandbox, in dependency order, tolerating any of them being
 * already gone (half-built sandboxes, repeated kills, sweeps after a crash):
 * runc container (+ its cgroups) → overlay, idmapped lower, disk (and its loop) → host veth →
 * leftover cgroups → state dir → slot claim (last: the slot stays ours until nothing uses it).
 */
export async function destroySandbox(
  sandboxId: string,
  paths: SandboxPaths,
  deps: { runc: RuncCli; slots: SlotClaims },
): Promise<void> {
  const record = await readRecord(paths.dir);
  await deps.runc.delete(sandboxId);
  await unmountSandboxRootfs(paths);
  if (record) await deleteVeth(record.veth);
  const busy = await removeSandboxCgroups(sandboxId);
  if (busy.length > 0) {
    throw new SandboxdError('RUNTIME_FAILED', `cgroups of sandbox ${sandboxId} still have tasks: ${busy.join(', ')}`);
  }
  // Never rm -rf through a mount: a failed unmount must stop here, not delete a template.
  const stillMounted = (await listMountPoints()).filter((m) =>
    [paths.dir, paths.mountDir].some((d) => m === d || m.startsWith(`${d}/`)),
  );
  if (stillMounted.length > 0) {
    throw new SandboxdError('RUNTIME_FAILED', `sandbox ${sandboxId} still has mounts: ${stillMounted.join(', ')}`);
  }
  await fs.rm(paths.mountDir, { recursive: true, force: true });
  await fs.rm(paths.dir, { recursive: true, force: true });
  if (record) await deps.slots.release(record.slot, sandboxId);
}

/**
 * Removes only what a running container adds to a paused sandbox (its processes, runc state,
 * cgroups, veth), keeping the state dir: the rollback of a failed resume.
 */
export async function destroyContainer(sandboxId: string, runc: RuncCli, veth: string): Promise<void> {
  await runc.delete(sandboxId);
  await removeSandboxCgroups(sandboxId, { killTasks: true });
  await deleteVeth(veth);
}
