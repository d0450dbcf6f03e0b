import fs from 'node:fs/promises';
import path from 'node:path';
import { shareImagesDir } from '../checkpoint/images-dir.js';
import type { HelperPaths } from '../host/ensure-helpers.js';
import { removeTree } from '../process/mounts.js';
import { runCommand } from '../process/run-command.js';
import type { StepTimer } from '../process/step-timer.js';
import { mountSandboxRootfs } from '../rootfs/sandbox-rootfs.js';
import { prepareBootId } from '../runc/boot-identity.js';
import { makeSandboxBundle } from '../runc/create-sandbox.js';
import type { RuncCli } from '../runc/runc-cli.js';
import type { SandboxPaths } from '../runc/sandbox-paths.js';
import { writeRecord } from '../runc/sandbox-record.js';
import type { SandboxSpec } from '../runtime.js';
import { idCount } from '../slots/slot.js';
import type { SlotClaims } from '../slots/slot-claims.js';
import { shiftOwners } from './shift-owners.js';
import { readSnapshotRecord, type SnapshotPaths, type SnapshotRecord } from './snapshot-record.js';
import { usernsImageName, writeShiftedUsernsImage } from './userns-image.js';

export interface RestoreInput {
  spec: SandboxSpec;
  paths: SandboxPaths;
  stateDir: string;
  snapshot: { paths: SnapshotPaths; record: SnapshotRecord };
  templateRootfs: string;
  helpers: HelperPaths;
  /** Today's bind sources: the key guarantees they are the files the snapshot was dumped with. */
  binds: { envdBundle: string; node: string; envdHelper: string };
  initBinary: string;
  runc: RuncCli;
  slots: SlotClaims;
  waitForHealth: (address: string, pid: number) => Promise<void>;
  timer: StepTimer;
}

/**
 * A new sandbox from a ready snapshot, with the steps of a create (createSandbox) and the same
 * rollback (one teardown 'destroy' by the caller, everything made here is found from the state
 * dir): state dir → slot → record and config.json for the new slot → a sparse copy of the
 * snapshot's disk, its upper's owners shifted to the new uid range, a new machine id, the
 * overlay over the new slot's idmapped lower → a per-sandbox images dir (hard links to the shared
 * images, the userns image rewritten for the new range) → new boot id → `runc restore` → health.
 * Established TCP connections come back as they were: the snapshot had only loopback ones
 * (take-snapshot.ts waits for that), which the new address does not affect.
 */
export async function restoreSnapshot(input: RestoreInput): Promise<{ address: string; pid: number }> {
  const { spec, paths, timer, snapshot } = input;
  const { sandboxId } = spec;
  const snap = snapshot.record;
  const { slot, record, config } = await makeSandboxBundle({
    spec,
    paths,
    timer,
    stateDir: input.stateDir,
    slots: input.slots,
    templateBuild: snap.templateBuild,
    limits: snap.limits,
    helpers: input.helpers,
    // A restore keeps the snapshot's process environment; spec.envdEnv only matters for a later cold boot.
    binds: input.binds,
    initBinary: input.initBinary,
  });
  await timer.step('files', () =>
    Promise.all([writeRecord(paths.dir, record), fs.writeFile(paths.config, JSON.stringify(config))]),
  );
  await timer.step('disk-copy', () =>
    runCommand('cp', ['--sparse=always', snapshot.paths.diskImage, paths.diskImage], { timeoutMs: 120_000 }),
  );
  await mountSandboxRootfs({
    paths,
    templateRootfs: input.templateRootfs,
    uidBase: slot.uidBase,
    idCount,
    diskSizeMiB: snap.limits.diskSizeMiB,
    idmountBinary: input.helpers.idmount,
    newDisk: false,
    beforeOverlay: () => timer.step('shift', () => shiftAll(paths, snap.uidBase, slot.uidBase)),
    newMachineId: true,
    timer,
  });
  await timer.step('images', async () => {
    await linkImages(snapshot.paths.images, paths.images, snap.uidBase, slot.uidBase);
    await assertStillThere(snapshot);
  });
  const pid = await timer.step('restore', async () => {
    await removeTree(paths.criuWork);
    await prepareBootId(paths, 'boot');
    const restored = await input.runc.restore(sandboxId, paths.dir, {
      images: paths.images,
      work: paths.criuWork,
      log: paths.runcLog,
      pid: paths.pidFile,
    });
    // Only needed by the restore: a later pause writes its own images.
    await removeTree(paths.images);
    return restored;
  });
  await timer.step('health', () => input.waitForHealth(slot.address, pid));
  return { address: slot.address, pid };
}

/**
 * The snapshot may be deleted by another server while this restore reads it (pruned, or replaced
 * under the same key). Once its disk is copied and its images linked, this sandbox has its own
 * copies; checking that the record is still the one read at the start proves that what was copied
 * is whole and of that record (a deletion renames the dir away first: snapshot-retention.ts).
 */
async function assertStillThere(snapshot: RestoreInput['snapshot']): Promise<void> {
  const now = await readSnapshotRecord(snapshot.paths.dir);
  if (now?.initToken !== snapshot.record.initToken) throw new SnapshotGoneError(snapshot.paths.dir);
}

/** The snapshot went away during the restore: not broken, just lost the race (the create goes cold). */
export class SnapshotGoneError extends Error {
  constructor(dir: string) {
    super(`ready snapshot ${dir} was deleted or replaced during the restore`);
    this.name = 'SnapshotGoneError';
  }
}

async function shiftAll(paths: SandboxPaths, fromBase: number, toBase: number): Promise<void> {
  if (fromBase === toBase) return;
  await Promise.all([
    shiftOwners(paths.upper, fromBase, toBase, idCount),
    shiftOwners(paths.work, fromBase, toBase, idCount),
  ]);
}

/**
 * The images CRIU reads at restore, without copying their megabytes: hard links to the
 * snapshot's (CRIU opens images read-only at restore; nothing rewrites them), except the userns
 * image, which is written for the new range. Falls back to copies across filesystems.
 */
async function linkImages(from: string, to: string, fromBase: number, toBase: number): Promise<void> {
  await removeTree(to);
  await fs.mkdir(to, { mode: 0o700 });
  const userns = await usernsImageName(from);
  const names = (await fs.readdir(from)).filter((n) => n !== userns);
  await Promise.all(
    names.map((n) =>
      fs.link(path.join(from, n), path.join(to, n)).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'EXDEV') throw err;
        return fs.copyFile(path.join(from, n), path.join(to, n));
      }),
    ),
  );
  await writeShiftedUsernsImage(from, to, fromBase, toBase);
  await shareImagesDir(to, toBase);
}
