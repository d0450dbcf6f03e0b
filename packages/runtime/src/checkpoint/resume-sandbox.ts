import fs from 'node:fs/promises';
import { type Logger, SandboxdError, Scope } from '@sandboxd/common';
import type { StepTimer } from '../process/step-timer.js';
import { mountSandboxRootfs, unmountSandboxRootfs } from '../rootfs/sandbox-rootfs.js';
import { destroyContainer } from '../runc/destroy-sandbox.js';
import { sandboxEnvd } from '../runc/oci-spec.js';
import type { RuncCli } from '../runc/runc-cli.js';
import type { SandboxPaths } from '../runc/sandbox-paths.js';
import type { SandboxRecord } from '../runc/sandbox-record.js';
import type { PausedSandbox } from '../runtime.js';
import { idCount } from '../slots/slot.js';
import type { SlotClaims } from '../slots/slot-claims.js';
import { shareImagesDir } from './images-dir.js';
import { removePauseRecord, writePauseRecord } from './pause-record.js';

export interface ResumeInput {
  runc: RuncCli;
  slots: SlotClaims;
  stateDir: string;
  paths: SandboxPaths;
  record: SandboxRecord;
  paused: PausedSandbox;
  /** false: boot from the disk even though memory was kept (the images are deleted first). */
  restoreMemory: boolean;
  /** For a fresh boot: envd environment variables to set (see ResumeOptions.envdEnv). */
  envdEnv?: Record<string, string>;
  templateRootfs: string;
  idmountBinary: string;
  envdBundlePath: string;
  waitForHealth: (pid: number) => Promise<void>;
  timer: StepTimer;
  log: Logger;
}

/**
 * Resume re-creates whatever a reboot may have wiped, then starts the sandbox from what the pause
 * kept: slot claim → disk, idmapped lower and overlay (remounted from scratch) → `runc restore`
 * (runc re-runs the prestart hook, which re-plumbs the veth before CRIU restores the sockets) or
 * `runc run` → envd answers → pause.json removed (the commit) → images deleted. Until the commit a
 * failure unwinds the mounts and the container and leaves the sandbox paused, images intact.
 */
export async function resumeSandbox(input: ResumeInput): Promise<number> {
  const scope = new Scope();
  try {
    const pid = await resume(input, scope);
    scope.release();
    return pid;
  } catch (err) {
    for (const e of await scope.dispose()) input.log.error('resume rollback step failed', { err: e });
    if (SandboxdError.is(err)) throw err;
    throw new SandboxdError('RUNTIME_FAILED', `resuming sandbox ${input.record.sandboxId} failed; it stays paused`, {
      cause: err,
    });
  }
}

async function resume(input: ResumeInput, scope: Scope): Promise<number> {
  const { runc, paths, record, timer } = input;
  const { sandboxId } = record;
  await timer.step('slot', () => input.slots.reclaim(record.slot, input.stateDir, sandboxId));
  if (input.paused.memory && !input.restoreMemory) {
    // Durably "filesystem-only" before the images go, so a crash in between never points at missing images.
    await writePauseRecord(paths.pauseRecord, { ...input.paused, memory: false, imageBytes: 0 });
    await fs.rm(paths.images, { recursive: true, force: true });
  }
  await timer.step('config', () =>
    updateConfig(paths.config, input.envdBundlePath, input.restoreMemory ? undefined : input.envdEnv),
  );
  // A pause unmounts everything; whatever is still mounted (a failed unmount) is redone from scratch.
  await unmountSandboxRootfs(paths);
  await mountSandboxRootfs({
    paths,
    templateRootfs: input.templateRootfs,
    uidBase: record.uidBase,
    idCount,
    diskSizeMiB: record.limits.diskSizeMiB,
    idmountBinary: input.idmountBinary,
    newDisk: false,
    scope,
    timer,
  });
  await fs.rm(paths.criuWork, { recursive: true, force: true });
  const pid = await timer.step(input.restoreMemory ? 'restore' : 'runc-run', async () => {
    scope.defer('delete container', () => destroyContainer(sandboxId, runc, record.veth));
    if (!input.restoreMemory) return runc.run(sandboxId, paths.dir, { log: paths.runcLog, pid: paths.pidFile });
    await shareImagesDir(paths.images, record.uidBase);
    return runc.restore(sandboxId, paths.dir, {
      images: paths.images,
      work: paths.criuWork,
      log: paths.runcLog,
      pid: paths.pidFile,
    });
  });
  await timer.step('health', () => input.waitForHealth(pid));
  await timer.step('commit', () => removePauseRecord(paths));
  return pid;
}

/**
 * The envd bundle is bind-mounted from a staged copy in the run dir, named by content hash; after
 * a reboot (or an envd upgrade) the path in config.json may be gone. A restored envd has already
 * loaded its script and holds no fd on it, so pointing the mount at today's copy is safe. A fresh
 * boot may also get envd variables to set (`envdEnv`); a restore keeps its process environment.
 */
async function updateConfig(
  configPath: string,
  envdBundlePath: string,
  envdEnv: Record<string, string> | undefined,
): Promise<void> {
  const config = JSON.parse(await fs.readFile(configPath, 'utf8')) as {
    mounts: Array<{ destination: string; source: string }>;
    process: { env: string[] };
  };
  const mount = config.mounts.find((m) => m.destination === sandboxEnvd);
  if (!mount) throw new SandboxdError('RUNTIME_FAILED', `config.json of ${configPath} has no envd mount`);
  const before = JSON.stringify(config);
  mount.source = envdBundlePath;
  if (envdEnv) {
    const names = new Set(Object.keys(envdEnv));
    config.process.env = [
      ...config.process.env.filter((entry) => !names.has(entry.slice(0, entry.indexOf('=')))),
      ...Object.entries(envdEnv).map(([k, v]) => `${k}=${v}`),
    ];
  }
  const after = JSON.stringify(config);
  if (after !== before) await fs.writeFile(configPath, after);
}
