import type { Logger } from '@sandboxd/common';
import { SandboxdError } from '@sandboxd/common';
import { readPauseRecord, removePauseRecord } from '../checkpoint/pause-record.js';
import { resumeSandbox } from '../checkpoint/resume-sandbox.js';
import { templateBuildRootfs } from '../images/template-builds.js';
import type { StepTimer } from '../process/step-timer.js';
import type { ResumeOptions, SandboxEndpoint } from '../runtime.js';
import type { SlotClaims } from '../slots/slot-claims.js';
import type { BoundFiles } from './bind-sources.js';
import type { RuncCli } from './runc-cli.js';
import type { ResolvedOptions } from './runtime-options.js';
import type { SandboxPaths } from './sandbox-paths.js';
import type { SandboxRecord } from './sandbox-record.js';

export interface ResumeDeps {
  runc: RuncCli;
  slots: SlotClaims;
  options: Pick<ResolvedOptions, 'stateDir' | 'templatesDir' | 'envdPort'>;
  /** runc's view of the container, undefined when runc has none. */
  container: () => Promise<{ status: string; pid: number } | undefined>;
  /** The sandbox's teardown in 'release' mode: what a failed resume unwinds. */
  release: () => Promise<void>;
  bindSources: () => Promise<BoundFiles>;
  waitForHealth: (pid: number) => Promise<void>;
}

/**
 * Resume of a paused runc sandbox, after the leftovers of a crashed earlier resume are sorted out
 * (one that restored and did not commit is committed; a dead leftover container is released), on
 * the template build the sandbox was made on (checkpoint/resume-sandbox.ts does the restore).
 */
export async function resumeRuncSandbox(
  ctx: { paths: SandboxPaths; record: SandboxRecord; timer: StepTimer; log: Logger },
  options: ResumeOptions,
  d: ResumeDeps,
): Promise<SandboxEndpoint> {
  const { paths, record, timer, log } = ctx;
  const { sandboxId } = record;
  const [paused, container] = await Promise.all([readPauseRecord(paths.pauseRecord), d.container()]);
  if (!paused) throw new SandboxdError('INVALID_TRANSITION', `sandbox ${sandboxId} is not paused`);
  const endpoint = { sandboxId, address: record.address, envdPort: d.options.envdPort };
  if (container?.status === 'running') {
    // An earlier resume restored it and crashed before its commit: finish that commit.
    await removePauseRecord(paths);
    return { ...endpoint, pid: container.pid };
  }
  // A dead leftover container (its restored PID 1 exited) would make `runc restore` fail with "exists".
  if (container) await d.release();
  // The build it was made on, even if the template was rebuilt since (template-builds.ts).
  const lower = await templateBuildRootfs(d.options.templatesDir, record.templateId, record.templateBuild);
  if (!lower) {
    throw new SandboxdError(
      'TEMPLATE_NOT_FOUND',
      `template ${record.templateId} of ${sandboxId} (build ${record.templateBuild ?? 'current'}) is gone`,
    );
  }
  const { helpers, envdBundle, node } = await d.bindSources();
  const restoreMemory = paused.memory && options.memory !== false;
  const pid = await resumeSandbox({
    runc: d.runc,
    slots: d.slots,
    stateDir: d.options.stateDir,
    paths,
    record,
    paused,
    restoreMemory,
    ...(options.envdEnv ? { envdEnv: options.envdEnv } : {}),
    templateRootfs: lower,
    idmountBinary: helpers.idmount,
    bindSources: { envdBundle, node, envdHelper: helpers.envdHelper },
    waitForHealth: d.waitForHealth,
    release: d.release,
    timer,
    log,
  });
  log.info('sandbox resumed', { memory: restoreMemory, ms: timer.elapsedMs(), steps: timer.steps });
  return { ...endpoint, pid };
}
