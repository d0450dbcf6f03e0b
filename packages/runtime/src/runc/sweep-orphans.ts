import fs from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '@sandboxd/common';
import { listSandboxCgroups, removeSandboxCgroups } from '../cgroups/cgroup-v1.js';
import { deleteVeth, listSandboxVeths } from '../netns/veth.js';
import { listLoopDevices, listMountPoints } from '../process/mounts.js';
import { tryCommand } from '../process/run-command.js';
import { unmountAll } from '../rootfs/sandbox-rootfs.js';
import { slotFor } from '../slots/slot.js';
import type { SlotClaims } from '../slots/slot-claims.js';
import type { RuncCli } from './runc-cli.js';
import { mountsDir, sandboxesDir } from './sandbox-paths.js';

/** A claim younger than this may belong to a create in flight in another process. */
const claimGraceMs = 60_000;

export interface SweepInput {
  stateDir: string;
  runDir: string;
  keep: ReadonlySet<string>;
  runc: RuncCli;
  slots: SlotClaims;
  kill: (sandboxId: string) => Promise<void>;
  log: Logger;
}

/**
 * After a crash: kill every sandbox of this state dir that the caller does not keep, then remove
 * host leftovers carrying our prefixes that no live claim accounts for. Other servers' sandboxes
 * are recognised by their slot claims and left alone; a claim whose owner state dir is gone is
 * itself an orphan. Listing order matters: resources are listed *before* claims, so a resource
 * created by a concurrent create (always after its claim) is never mistaken for an orphan.
 */
export async function sweepOrphans(input: SweepInput): Promise<string[]> {
  const { keep, log } = input;
  const root = sandboxesDir(input.stateDir);
  const dirs = await fs.readdir(root).catch(() => [] as string[]);
  const containers = (await input.runc.list().catch(() => [])).map((c) => c.id);
  const victims = [...new Set([...dirs, ...containers])].filter((id) => !keep.has(id));
  const killed: string[] = [];
  for (const id of victims) {
    try {
      await input.kill(id);
      killed.push(id);
    } catch (err) {
      log.error('sweep could not remove sandbox', { sandboxId: id, err });
    }
  }

  // Loop devices backed by an image of ours whose sandbox is not kept (e.g. the image was deleted).
  for (const loop of await listLoopDevices()) {
    const rel = path.relative(root, loop.backingFile);
    const id = rel.split(path.sep)[0] ?? '';
    if (!rel.startsWith('..') && id && !keep.has(id)) await tryCommand('losetup', ['-d', loop.device]);
  }

  const mountDirs = await fs.readdir(mountsDir(input.runDir)).catch(() => [] as string[]);
  const veths = await listSandboxVeths();
  const cgroups = await listSandboxCgroups();
  const claims = await input.slots.list();
  const live = new Set<number>();
  const liveSandboxes = new Set<string>(keep);
  for (const claim of claims) {
    if (await isOrphanClaim(claim, input)) {
      log.info('sweep released a stale slot claim', {
        slot: claim.index,
        owner: claim.stateDir,
        sandboxId: claim.sandboxId,
      });
      await deleteVeth(slotFor(claim.index).veth);
      await removeSandboxCgroups(claim.sandboxId, { killTasks: true });
      await removeMountDir(input.runDir, claim.sandboxId);
      await input.slots.release(claim.index, claim.sandboxId);
    } else {
      live.add(claim.index);
      liveSandboxes.add(claim.sandboxId);
    }
  }
  for (const index of veths) if (!live.has(index)) await deleteVeth(slotFor(index).veth);
  for (const id of cgroups) if (!liveSandboxes.has(id)) await removeSandboxCgroups(id);
  for (const id of mountDirs) if (!liveSandboxes.has(id)) await removeMountDir(input.runDir, id);
  return killed;
}

/** Mount points of a sandbox whose owner is gone: unmount (overlay first) and remove the dir. */
async function removeMountDir(runDir: string, sandboxId: string): Promise<void> {
  const dir = path.join(mountsDir(runDir), sandboxId);
  await unmountAll(
    ['rootfs', 'lower', 'disk'].map((m) => path.join(dir, m)),
    [],
  );
  const left = (await listMountPoints()).some((m) => m.startsWith(`${dir}/`));
  if (!left) await fs.rm(dir, { recursive: true, force: true });
}

async function isOrphanClaim(
  claim: { stateDir: string; sandboxId: string; claimedAt: number },
  input: SweepInput,
): Promise<boolean> {
  if (claim.stateDir === input.stateDir) return !input.keep.has(claim.sandboxId);
  if (Date.now() - claim.claimedAt < claimGraceMs) return false;
  const dir = path.join(sandboxesDir(claim.stateDir), claim.sandboxId);
  return !(await fs.stat(dir).then(
    () => true,
    () => false,
  ));
}
