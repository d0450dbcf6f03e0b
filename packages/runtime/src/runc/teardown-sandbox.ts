import fs from 'node:fs/promises';
import path from 'node:path';
import { type Logger, SandboxdError } from '@sandboxd/common';
import { killSandboxTasks, removeSandboxCgroups, sandboxHasTasks } from '../cgroups/cgroup-v1.js';
import { deleteVeth } from '../netns/veth.js';
import { isMountedDevice, mountsUnder, removeTree } from '../process/mounts.js';
import { tryCommand } from '../process/run-command.js';
import { detachLoops, unmountTree } from '../rootfs/release-rootfs.js';
import { slotFor } from '../slots/slot.js';
import type { SlotClaims } from '../slots/slot-claims.js';
import type { RuncCli } from './runc-cli.js';
import type { SandboxPaths } from './sandbox-paths.js';

/**
 * The one teardown of a sandbox's host resources, used by create's rollback, kill, pause (after
 * the dump), a failed resume and the sweep. It is driven by what is on disk, never by what the
 * caller remembers: runc's state dir, the cgroups named after the sandbox, mountinfo, the loop
 * devices' backing files and the slot claims naming it (its address, uid range and veth). So a
 * half-built, half-killed or crashed sandbox is taken apart the same way as a healthy one, and
 * running it twice is harmless.
 *
 * Order: container and its processes → mounts (deepest first) → loop devices → veth → cgroups,
 * then, for `destroy` only, the mount and state dirs → the slot claim (last: until nothing uses
 * the slot's address and uid range, they stay ours). `release` removes only the (empty) mount dir
 * and keeps the state dir and the claim: what a paused sandbox keeps.
 *
 * A failing step does not stop the steps that only release something (a retry has less to do),
 * but the two that destroy (deleting the dirs, freeing the slot) run only when every step before
 * them succeeded, and the dirs are deleted only after mountinfo shows nothing mounted inside.
 */
export type TeardownMode = 'release' | 'destroy';

export const teardownSteps = ['container', 'unmount', 'loop', 'veth', 'cgroups', 'dirs', 'slot'] as const;
export type TeardownStep = (typeof teardownSteps)[number];

export interface TeardownDeps {
  runc: RuncCli;
  slots: SlotClaims;
  stateDir: string;
  log: Logger;
  /** Test hook: throwing from it fails that step (as if the step itself had failed). */
  beforeStep?: (step: string, sandboxId: string) => void | Promise<void>;
}

/** How soon a second kill may find the step that failed unblocked (a mount's holder gone). */
const killRetryAfterSeconds = 2;

/**
 * Some steps failed; what is left is on disk for a retry (kill again, or the start-up sweep). A
 * `destroy` is a kill's teardown: its failure is KILL_INCOMPLETE, the caller's to retry; a
 * `release` belongs to a pause or resume, which report their own failure.
 */
export class TeardownIncompleteError extends SandboxdError {
  constructor(
    readonly sandboxId: string,
    readonly failures: ReadonlyArray<{ step: TeardownStep; error: unknown }>,
    mode: TeardownMode = 'destroy',
  ) {
    const what = failures.map((f) => `${f.step}: ${f.error instanceof Error ? f.error.message : String(f.error)}`);
    super(
      mode === 'destroy' ? 'KILL_INCOMPLETE' : 'RUNTIME_FAILED',
      `teardown of sandbox ${sandboxId} is incomplete (${what.join('; ')})`,
      mode === 'destroy'
        ? { cause: failures[0]?.error, retryAfterSeconds: killRetryAfterSeconds }
        : { cause: failures[0]?.error },
    );
  }
}

export async function teardownSandbox(
  sandboxId: string,
  paths: SandboxPaths,
  mode: TeardownMode,
  deps: TeardownDeps,
): Promise<void> {
  // The veth is found through the slot claim, not sandbox.json: a slot whose claim names someone
  // else (lost and re-claimed) comes with a veth that is theirs.
  const claims = (await deps.slots.list()).filter((c) => c.sandboxId === sandboxId && c.stateDir === deps.stateDir);
  const veths = claims.map((c) => slotFor(c.index).veth);
  const failures: Array<{ step: TeardownStep; error: unknown }> = [];
  const step = async (name: TeardownStep, run: () => Promise<void>): Promise<void> => {
    try {
      await deps.beforeStep?.(`teardown:${name}`, sandboxId);
      await run();
    } catch (error) {
      failures.push({ step: name, error });
    }
  };

  await step('container', () => removeContainer(sandboxId, deps.runc));
  await step('unmount', async () => {
    // Flushed first: the ext4 may outlive our unmount for a moment (see the loop step).
    if ((await mountsUnder([paths.diskMount])).length > 0) await tryCommand('sync', ['-f', paths.diskMount]);
    // runc's own state dir too: a `runc restore` killed at its deadline (a CRIU that hangs on a
    // damaged image) leaves its criu-root bind of the rootfs there, which holds the disk's ext4.
    const left = await unmountTree([paths.mountDir, paths.dir, path.join(deps.runc.root, sandboxId)]);
    if (left.length > 0) throw new Error(`still mounted: ${left.join(', ')}`);
  });
  await step('loop', async () => {
    // Short: autoclear detaches a loop device as its ext4 goes; one held elsewhere is not ours to wait for.
    const left = await detachLoops([paths.dir], 1_000);
    const mountedHere = [];
    for (const device of left) if (await isMountedDevice(device)) mountedHere.push(device);
    if (mountedHere.length > 0) throw new Error(`loop devices still mounted: ${mountedHere.join(', ')}`);
    // Mounted nowhere here, yet attached: every new mount namespace on the host (a container
    // being created, a CRIU restore) starts as a copy of ours and holds our mounts until it
    // pivots away, which takes seconds on a busy host. Autoclear detaches the device then.
    // Nothing here needs it gone but a resume, which waits for it (resume-sandbox.ts).
    if (left.length > 0) deps.log.warn('loop device still held by another mount namespace', { sandboxId, left });
  });
  await step('veth', async () => {
    for (const veth of veths) await deleteVeth(veth);
  });
  await step('cgroups', async () => {
    const busy = await removeSandboxCgroups(sandboxId);
    if (busy.length > 0) throw new Error(`cgroups still have tasks: ${busy.join(', ')}`);
  });
  if (mode === 'release') {
    await step('dirs', () => removeTree(paths.mountDir));
  } else if (failures.length === 0) {
    await step('dirs', async () => {
      await removeTree(paths.mountDir);
      await removeTree(paths.dir);
      await removeTree(path.join(deps.runc.root, sandboxId));
    });
    if (failures.length === 0) {
      await step('slot', async () => {
        for (const claim of claims) await deps.slots.release(claim.index, sandboxId);
      });
    }
  }
  if (failures.length > 0) {
    const err = new TeardownIncompleteError(sandboxId, failures, mode);
    deps.log.error('sandbox teardown incomplete; what is left stays for a retry', { sandboxId, mode, err });
    throw err;
  }
}

/**
 * `runc delete --force` when runc knows the container, then SIGKILL through the cgroup for any task
 * runc did not reach (its state gone after a crash, or a restore that died half-way), and a wait
 * until the last one has exited: only then does the container's mount namespace let go of its mounts.
 */
async function removeContainer(sandboxId: string, runc: RuncCli): Promise<void> {
  const known = await fs.stat(path.join(runc.root, sandboxId)).then(
    () => true,
    () => false,
  );
  if (known) await runc.delete(sandboxId);
  if (!(await sandboxHasTasks(sandboxId))) return;
  await killSandboxTasks(sandboxId);
  for (let waited = 0, delayMs = 10; waited < 5_000; waited += delayMs, delayMs = Math.min(delayMs * 2, 250)) {
    if (!(await sandboxHasTasks(sandboxId))) return;
    await new Promise((r) => setTimeout(r, delayMs));
  }
  throw new Error('its processes did not exit after SIGKILL');
}
