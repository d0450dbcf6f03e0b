import fs from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '@sandboxd/common';
import { listSandboxCgroups, removeSandboxCgroups } from '../cgroups/cgroup-v1.js';
import { deleteVeth, listSandboxVeths } from '../netns/veth.js';
import { loopsUnder, removeTree } from '../process/mounts.js';
import { tryCommand } from '../process/run-command.js';
import { detachLoops, unmountTree } from '../rootfs/release-rootfs.js';
import { slotFor } from '../slots/slot.js';
import type { SlotClaim, SlotClaims } from '../slots/slot-claims.js';
import { RuncCli } from './runc-cli.js';
import { mountsDir, sandboxesDir, sandboxPaths } from './sandbox-paths.js';
import { teardownSandbox } from './teardown-sandbox.js';

/** A claim younger than this may belong to a create in flight in another process. */
const claimGraceMs = 60_000;

export interface SweepInput {
  stateDir: string;
  runDir: string;
  keep: ReadonlySet<string>;
  runc: RuncCli;
  slots: SlotClaims;
  /** This runtime's kill: the sandbox's teardown, ordered with whatever else runs on it. */
  kill: (sandboxId: string) => Promise<void>;
  log: Logger;
}

/**
 * After a crash (and at every start): tear down every sandbox of this state dir that the caller
 * does not keep, found on disk (state dirs, runc containers, slot claims naming this state dir),
 * then remove host leftovers carrying our prefixes that no live claim accounts for. Other servers'
 * sandboxes are recognised by their slot claims and left alone; a claim whose owner state dir is
 * gone is itself an orphan. A teardown that is refused (still mounted) is logged and stays on
 * disk for the next sweep. Listing order matters: resources are listed *before* claims, so a
 * resource created by a concurrent create (always after its claim) is never taken for an orphan.
 */
export async function sweepOrphans(input: SweepInput): Promise<string[]> {
  const { keep, log } = input;
  const root = sandboxesDir(input.stateDir);
  const dirs = await fs.readdir(root).catch(() => [] as string[]);
  const containers = (await input.runc.list().catch(() => [])).map((c) => c.id);
  const ownClaims = (await input.slots.list()).filter((c) => c.stateDir === input.stateDir).map((c) => c.sandboxId);
  const victims = [...new Set([...dirs, ...containers, ...ownClaims])].filter((id) => !keep.has(id));
  const killed: string[] = [];
  for (const id of victims) {
    try {
      await input.kill(id);
      killed.push(id);
    } catch (err) {
      log.error('sweep could not remove sandbox; the next sweep retries', { sandboxId: id, err });
    }
  }

  // Loop devices backed by an image of ours whose sandbox dir is gone (the image was deleted).
  for (const loop of await loopsUnder([root])) {
    const id = path.relative(root, loop.backingFile).split(path.sep)[0] ?? '';
    if (id && !keep.has(id)) await tryCommand('losetup', ['-d', loop.device]);
  }

  const mountDirs = await fs.readdir(mountsDir(input.runDir)).catch(() => [] as string[]);
  const veths = await listSandboxVeths();
  const cgroups = await listSandboxCgroups();
  const live = new Set<number>();
  const liveSandboxes = new Set<string>(keep);
  for (const claim of await input.slots.list()) {
    if (!(await isOrphanClaim(claim, input))) {
      live.add(claim.index);
      liveSandboxes.add(claim.sandboxId);
      continue;
    }
    log.info('sweep releases a stale slot claim', {
      slot: claim.index,
      owner: claim.stateDir,
      sandboxId: claim.sandboxId,
    });
    // The same teardown, pointed at the owner's (gone) state dir: what is left is machine-wide.
    await teardownSandbox(claim.sandboxId, sandboxPaths(claim.stateDir, input.runDir, claim.sandboxId), 'destroy', {
      runc: new RuncCli(path.join(claim.stateDir, 'runc')),
      slots: input.slots,
      stateDir: claim.stateDir,
      log,
    }).catch(() => {});
  }
  for (const index of veths) if (!live.has(index)) await deleteVeth(slotFor(index).veth);
  for (const id of cgroups) if (!liveSandboxes.has(id)) await removeSandboxCgroups(id);
  for (const id of mountDirs) {
    if (liveSandboxes.has(id)) continue;
    const dir = path.join(mountsDir(input.runDir), id);
    await unmountTree([dir]);
    await detachLoops([dir]);
    await removeTree(dir).catch((err) => log.error('sweep left a mount dir that is still mounted', { dir, err }));
  }
  return killed;
}

async function isOrphanClaim(claim: SlotClaim, input: SweepInput): Promise<boolean> {
  if (claim.stateDir === input.stateDir) return !input.keep.has(claim.sandboxId);
  if (Date.now() - claim.claimedAt < claimGraceMs) return false;
  const dir = path.join(sandboxesDir(claim.stateDir), claim.sandboxId);
  return !(await fs.stat(dir).then(
    () => true,
    () => false,
  ));
}
