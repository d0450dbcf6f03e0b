import { ENVD_VERSION } from '@sandboxd/protocol';
import type { SandboxLimits } from '@sandboxd/runtime';
import type { SandboxRecord, Team } from '../store/store.js';
import { deadlineFor } from './admission.js';

export interface CreateSandboxCommand {
  templateId: string;
  timeoutSeconds: number;
  metadata: Record<string, string>;
  envVars: Record<string, string>;
  secure: boolean;
  allowInternetAccess: boolean;
  autoPause: boolean;
  autoPauseMemory: boolean;
  autoResume: boolean;
}

/** The row of a sandbox a create is about to start: `creating`, its first run starting now. */
export function newSandboxRecord(
  team: Team,
  cmd: CreateSandboxCommand,
  o: { id: string; envdAccessToken: string | null; limits: SandboxLimits; now: number },
): SandboxRecord {
  const { cpuCount, memoryMiB, diskSizeMiB } = o.limits;
  return {
    id: o.id,
    teamId: team.id,
    templateId: cmd.templateId,
    alias: cmd.templateId,
    state: 'creating',
    metadata: cmd.metadata,
    envVars: cmd.envVars,
    cpuCount,
    memoryMiB,
    diskSizeMiB,
    envdVersion: ENVD_VERSION,
    envdAccessToken: o.envdAccessToken,
    allowInternetAccess: cmd.allowInternetAccess,
    autoPause: cmd.autoPause,
    autoPauseMemory: cmd.autoPauseMemory,
    autoResume: cmd.autoResume,
    timeoutSeconds: cmd.timeoutSeconds,
    pausedAt: null,
    pausedMemory: null,
    startedAt: o.now,
    runtimeStartedAt: o.now,
    endAt: deadlineFor(team, o.now, cmd.timeoutSeconds, o.now),
    address: null,
    envdPort: null,
  };
}
