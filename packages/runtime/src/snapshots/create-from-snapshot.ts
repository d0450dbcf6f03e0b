import fs from 'node:fs/promises';
import { isTemplateId, SandboxdError } from '@sandboxd/common';
import type { HelperPaths } from '../host/ensure-helpers.js';
import { readTemplateMarker } from '../images/template-paths.js';
import { StepTimer } from '../process/step-timer.js';
import { SandboxExistsError } from '../runc/create-sandbox.js';
import type { RuncCli } from '../runc/runc-cli.js';
import type { ResolvedOptions } from '../runc/runtime-options.js';
import type { SandboxPaths } from '../runc/sandbox-paths.js';
import type { SandboxEndpoint, SandboxSpec } from '../runtime.js';
import type { SlotClaims } from '../slots/slot-claims.js';
import { handOver } from './hand-over.js';
import type { ReadySnapshots } from './ready-snapshots.js';
import { restoreSnapshot } from './restore-snapshot.js';

export interface FromSnapshotDeps {
  snapshots: ReadySnapshots;
  options: ResolvedOptions;
  runc: RuncCli;
  slots: SlotClaims;
  paths: SandboxPaths;
  bindSources: () => Promise<{ helpers: HelperPaths; envdBundle: string; node: string }>;
  waitForHealth: (address: string, pid: number) => Promise<void>;
  /** The sandbox's teardown in 'destroy' mode: the rollback of a failed restore. */
  destroy: () => Promise<void>;
}

/**
 * The snapshot half of create: restores today's ready snapshot of the template into the new
 * sandbox and hands it over (hand-over.ts). Undefined means "create cold": there is no current
 * snapshot (one is then made in the background if the template has a start command), or the
 * restore failed — rolled back, logged, the snapshot discarded — so a broken snapshot never fails
 * a user's create. Only a rollback that itself failed (the id's resources still in place) or an
 * abort is thrown.
 */
export async function createFromSnapshot(
  spec: SandboxSpec,
  templateRootfs: string,
  signal: AbortSignal | undefined,
  d: FromSnapshotDeps,
): Promise<SandboxEndpoint | undefined> {
  const { sandboxId } = spec;
  const o = d.options;
  const log = o.logger.child({ sandboxId });
  const timer = new StepTimer(async (step) => {
    signal?.throwIfAborted();
    await o.beforeStep?.(`snapshot:${step}`, sandboxId);
  });
  const snapshot = await d.snapshots.acquire(spec.templateId, spec.limits).catch((err) => {
    log.warn('ready snapshot lookup failed', { err });
    return undefined;
  });
  if (!snapshot) {
    if (
      (await hasStartCommand(o.templatesDir, spec.templateId)) &&
      (await d.snapshots.wanted(spec.templateId, spec.limits))
    ) {
      void d.snapshots
        .ensure(spec.templateId, spec.limits)
        .catch((err) => log.warn('ready snapshot not made', { templateId: spec.templateId, err }));
    }
    return undefined;
  }
  try {
    const { helpers, envdBundle, node } = await d.bindSources();
    const { address, pid } = await restoreSnapshot({
      spec,
      paths: d.paths,
      stateDir: o.stateDir,
      snapshot,
      templateRootfs,
      helpers,
      binds: { envdBundle, node, envdHelper: helpers.envdHelper },
      initBinary: o.initBinary,
      runc: d.runc,
      slots: d.slots,
      waitForHealth: d.waitForHealth,
      timer,
    });
    snapshot.release();
    const endpoint: SandboxEndpoint = {
      sandboxId: spec.sandboxId,
      address,
      envdPort: o.envdPort,
      pid,
      from: 'snapshot',
    };
    await timer.step('hand-over', () => handOver(endpoint, spec.envdEnv, snapshot.record.initToken));
    log.info('sandbox created', { from: 'snapshot', ms: timer.elapsedMs(), steps: timer.steps });
    return endpoint;
  } catch (err) {
    if (err instanceof SandboxExistsError) throw err;
    const rolledBack = await d.destroy().then(
      () => true,
      () => false,
    );
    log.warn('sandbox restore from its ready snapshot failed; creating cold', {
      err,
      steps: timer.steps,
      rolledBack,
    });
    if (signal?.aborted) throw err;
    await d.snapshots.discard(snapshot);
    if (!rolledBack) {
      throw new SandboxdError('RUNTIME_FAILED', `restoring sandbox ${spec.sandboxId} failed and was not undone`, {
        cause: err,
      });
    }
    return undefined;
  } finally {
    snapshot.release();
  }
}

/** Built templates with a start command: those whose ready snapshot saves their start-up. */
export async function templatesWithStart(templatesDir: string): Promise<string[]> {
  const names = await fs.readdir(templatesDir).catch(() => [] as string[]);
  const flags = await Promise.all(
    names.map((n) => (isTemplateId(n) ? hasStartCommand(templatesDir, n).catch(() => false) : false)),
  );
  return names.filter((_, i) => flags[i]);
}

/** A template marker carries `start` when its recipe has a start command. */
async function hasStartCommand(templatesDir: string, templateId: string): Promise<boolean> {
  const marker = (await readTemplateMarker(templatesDir, templateId)) as { start?: unknown } | undefined;
  return Boolean(marker?.start);
}
