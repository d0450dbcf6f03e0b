import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { newSandboxId } from '@sandboxd/common';
import { unownedEnvdEnv } from '@sandboxd/protocol';
import { renameDurable, writeFileDurable } from '../checkpoint/durable.js';
import { removeTree } from '../process/mounts.js';
import { runCommand } from '../process/run-command.js';
import { sandboxEnvd, sandboxEnvdHelper, sandboxNode } from '../runc/oci-spec.js';
import type { SandboxPaths } from '../runc/sandbox-paths.js';
import { readRecord } from '../runc/sandbox-record.js';
import type { PausedSandbox, SandboxEndpoint, SandboxLimits, SandboxSpec } from '../runtime.js';
import { waitForQuietNetwork } from './quiet-network.js';
import { type SnapshotRecord, snapshotPaths } from './snapshot-record.js';
import { deleteSnapshotDir } from './snapshot-retention.js';

export interface TakeSnapshotInput {
  templateId: string;
  templateBuild: string;
  limits: SandboxLimits;
  key: string;
  /** `<snapshotsDir>/<templateId>/`: the snapshot lands in `<key>/` there. */
  templateDir: string;
  /** A cold create (never from a snapshot): resolves once envd is healthy and the template ready. */
  create: (spec: SandboxSpec) => Promise<SandboxEndpoint>;
  pause: (sandboxId: string) => Promise<PausedSandbox>;
  kill: (sandboxId: string) => Promise<void>;
  paths: (sandboxId: string) => SandboxPaths;
  /** Sandboxes being made into snapshots: the runtime's list and sweep leave them alone. */
  inFlight: Set<string>;
}

/**
 * Makes a ready snapshot: a cold sandbox nobody owns (booted with an init token, like a warm-pool
 * one, so it holds no owner's token or env vars) → its template's ready check passes (create
 * waits for it) → no connection left on its address (quiet-network.ts) → a memory pause (freeze, CRIU dump, release, fsync: checkpoint/pause-sandbox.ts)
 * → its images and disk image moved into a work dir beside the snapshot, snapshot.json written →
 * the work dir renamed into place → the paused sandbox killed (its slot freed). A failure leaves
 * no snapshot and no sandbox.
 */
export async function takeSnapshot(input: TakeSnapshotInput): Promise<SnapshotRecord> {
  const sandboxId = newSandboxId();
  const initToken = randomBytes(32).toString('base64url');
  const work = path.join(input.templateDir, `.work-${input.key}-${process.pid}`);
  const final = snapshotPaths(path.join(input.templateDir, input.key));
  input.inFlight.add(sandboxId);
  try {
    const { pid } = await input.create({
      sandboxId,
      templateId: input.templateId,
      limits: input.limits,
      envdEnv: unownedEnvdEnv(sandboxId, initToken),
      fromSnapshot: false,
    });
    await waitForQuietNetwork(pid);
    const paused = await input.pause(sandboxId);
    const sandbox = input.paths(sandboxId);
    const [record, config] = await Promise.all([
      readRecord(sandbox.dir),
      fs
        .readFile(sandbox.config, 'utf8')
        .then((t) => JSON.parse(t) as { mounts: Array<{ destination: string; source: string }> }),
    ]);
    if (!record) throw new Error(`snapshot sandbox ${sandboxId} has no record`);
    const bind = (destination: string) => {
      const source = config.mounts.find((m) => m.destination === destination)?.source;
      if (!source) throw new Error(`snapshot sandbox ${sandboxId} has no ${destination} bind`);
      return source;
    };
    await removeTree(work);
    await fs.mkdir(input.templateDir, { recursive: true, mode: 0o700 });
    await fs.mkdir(work, { mode: 0o700 });
    const wip = snapshotPaths(work);
    await move(sandbox.images, wip.images);
    await move(sandbox.diskImage, wip.diskImage);
    // The dump's uid range goes back to the pool of slots: its next owner must not read these.
    await fs.chown(wip.images, 0, 0);
    await fs.chmod(wip.images, 0o700);
    const disk = await fs.stat(wip.diskImage);
    const snapshot: SnapshotRecord = {
      key: input.key,
      templateId: input.templateId,
      templateBuild: input.templateBuild,
      uidBase: record.uidBase,
      limits: input.limits,
      binds: { node: bind(sandboxNode), envdHelper: bind(sandboxEnvdHelper), envdBundle: bind(sandboxEnvd) },
      initToken,
      imageBytes: paused.imageBytes,
      diskBytes: disk.blocks * 512,
      createdAt: new Date().toISOString(),
    };
    await writeFileDurable(wip.record, `${JSON.stringify(snapshot, null, 2)}\n`);
    await deleteSnapshotDir(final.dir);
    await renameDurable(work, final.dir);
    return snapshot;
  } finally {
    await Promise.allSettled([input.kill(sandboxId), removeTree(work)]);
    input.inFlight.delete(sandboxId);
  }
}

/**
 * A rename, or a copy where the snapshots dir is on another filesystem than the server's state
 * dir (sparse for the disk image, owners and modes kept for the images).
 */
async function move(from: string, to: string): Promise<void> {
  try {
    await fs.rename(from, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
    await runCommand('cp', ['-a', '--sparse=always', from, to], { timeoutMs: 300_000 });
    await removeTree(from);
  }
}
