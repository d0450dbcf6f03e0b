import fs from 'node:fs/promises';
import path from 'node:path';
import { SandboxdError } from '@sandboxd/common';
import type { HelperPaths } from '../host/ensure-helpers.js';
import { settleAll } from '../process/settle-all.js';
import type { StepTimer } from '../process/step-timer.js';
import { mountSandboxRootfs } from '../rootfs/sandbox-rootfs.js';
import type { SandboxLimits, SandboxSpec } from '../runtime.js';
import { idCount, type Slot } from '../slots/slot.js';
import type { SlotClaims } from '../slots/slot-claims.js';
import { prepareBootId } from './boot-identity.js';
import { buildOciSpec } from './oci-spec.js';
import type { RuncCli } from './runc-cli.js';
import type { SandboxPaths } from './sandbox-paths.js';
import { type SandboxRecord, writeRecord } from './sandbox-record.js';

export interface CreateInput {
  spec: SandboxSpec;
  paths: SandboxPaths;
  stateDir: string;
  templateRootfs: string;
  templateBuild: string;
  helpers: HelperPaths;
  envdBundlePath: string;
  initBinary: string;
  nodeBinary: string;
  runc: RuncCli;
  slots: SlotClaims;
  waitForHealth: (address: string, pid: number) => Promise<void>;
  timer: StepTimer;
}

/** The state dir exists and is not ours: someone else's sandbox, which a rollback must not touch. */
export class SandboxExistsError extends SandboxdError {
  constructor(sandboxId: string) {
    super('INVALID_TRANSITION', `sandbox ${sandboxId} exists`);
  }
}

/**
 * Builds a sandbox: state dir → slot claim → sandbox.json and the OCI bundle, alongside the
 * rootfs (disk, idmapped lower, overlay) → `runc run` → envd answers /health. Nothing here undoes
 * anything: every resource it makes is one the teardown finds on disk, so the caller's rollback of
 * any failure (after the state dir was made) is one `teardownSandbox(…, 'destroy')`.
 */
export async function createSandbox(input: CreateInput): Promise<{ address: string; pid: number }> {
  const { spec, paths, timer } = input;
  const { slot, record, config } = await makeSandboxBundle({
    spec,
    paths,
    timer,
    stateDir: input.stateDir,
    slots: input.slots,
    templateBuild: input.templateBuild,
    limits: spec.limits,
    helpers: input.helpers,
    binds: { envdBundle: input.envdBundlePath, node: input.nodeBinary, envdHelper: input.helpers.envdHelper },
    initBinary: input.initBinary,
  });
  // settleAll: a failure of one waits for the other, so the rollback sees everything it made.
  await settleAll([
    timer.step('files', () =>
      Promise.all([writeRecord(paths.dir, record), fs.writeFile(paths.config, JSON.stringify(config))]),
    ),
    timer.step('rootfs', () =>
      mountSandboxRootfs({
        paths,
        templateRootfs: input.templateRootfs,
        uidBase: slot.uidBase,
        idCount,
        diskSizeMiB: spec.limits.diskSizeMiB,
        idmountBinary: input.helpers.idmount,
        timer,
      }),
    ),
  ]);
  const pid = await timer.step('runc-run', async () => {
    await prepareBootId(paths, 'boot');
    return input.runc.run(spec.sandboxId, paths.dir, { log: paths.runcLog, pid: paths.pidFile });
  });
  await timer.step('health', () => input.waitForHealth(slot.address, pid));
  return { address: slot.address, pid };
}

export interface BundleInput {
  spec: SandboxSpec;
  paths: SandboxPaths;
  timer: StepTimer;
  stateDir: string;
  slots: SlotClaims;
  templateBuild: string;
  limits: SandboxLimits;
  helpers: HelperPaths;
  /** The host files behind the read-only binds of envd, node and the envd helper. */
  binds: { envdBundle: string; node: string; envdHelper: string };
  initBinary: string;
}

/**
 * The first steps of every new sandbox, booted or restored: its state dir (refusing one that
 * exists: someone else's), a slot claim, and the record and OCI config for that slot (written by
 * the caller, beside its rootfs work).
 */
export async function makeSandboxBundle(
  o: BundleInput,
): Promise<{ slot: Slot; record: SandboxRecord; config: ReturnType<typeof buildOciSpec> }> {
  const { spec, paths, timer } = o;
  const { sandboxId } = spec;
  await timer.step('state-dir', async () => {
    await fs.mkdir(path.dirname(paths.dir), { recursive: true });
    await fs.mkdir(paths.dir, { mode: 0o700 }).catch((err: NodeJS.ErrnoException) => {
      throw err.code === 'EEXIST' ? new SandboxExistsError(sandboxId) : err;
    });
  });
  const slot = await timer.step('slot', () => o.slots.claim(o.stateDir, sandboxId));
  const record: SandboxRecord = {
    sandboxId,
    templateId: spec.templateId,
    templateBuild: o.templateBuild,
    slot: slot.index,
    uidBase: slot.uidBase,
    address: slot.address,
    hostAddress: slot.hostAddress,
    veth: slot.veth,
    limits: o.limits,
    createdAt: new Date().toISOString(),
  };
  const config = buildOciSpec({
    sandboxId,
    rootfs: paths.rootfs,
    uidBase: slot.uidBase,
    idCount,
    limits: o.limits,
    env: spec.envdEnv,
    initBinary: o.initBinary,
    nodeBinary: o.binds.node,
    envdBundlePath: o.binds.envdBundle,
    envdHelper: o.binds.envdHelper,
    bootId: { hook: o.helpers.bootIdHook, file: paths.bootIdSource, criuConfig: paths.criuConfig },
    netHook: {
      path: o.helpers.netHook,
      veth: slot.veth,
      hostCidr: `${slot.hostAddress}/30`,
      sandboxCidr: `${slot.address}/30`,
    },
  });
  return { slot, record, config };
}
