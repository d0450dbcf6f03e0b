import type { SandboxPatch, SandboxRecord, SandboxState, Team } from '../store.js';

/** Column-level shapes of the sqlite tables and their mapping to domain records. */
export interface SandboxRow {
  id: string;
  team_id: string;
  template_id: string;
  alias: string | null;
  state: SandboxState;
  metadata: string;
  env_vars: string;
  cpu_count: number;
  memory_mib: number;
  disk_size_mib: number;
  envd_version: string;
  envd_access_token: string | null;
  allow_internet_access: number;
  auto_pause: number;
  auto_pause_memory: number;
  auto_resume: number;
  timeout_seconds: number;
  paused_at: number | null;
  paused_memory: number | null;
  started_at: number;
  runtime_started_at: number;
  end_at: number;
  address: string | null;
  envd_port: number | null;
}

export function toRecord(row: SandboxRow): SandboxRecord {
  return {
    id: row.id,
    teamId: row.team_id,
    templateId: row.template_id,
    alias: row.alias,
    state: row.state,
    metadata: JSON.parse(row.metadata) as Record<string, string>,
    envVars: JSON.parse(row.env_vars) as Record<string, string>,
    cpuCount: row.cpu_count,
    memoryMiB: row.memory_mib,
    diskSizeMiB: row.disk_size_mib,
    envdVersion: row.envd_version,
    envdAccessToken: row.envd_access_token,
    allowInternetAccess: row.allow_internet_access === 1,
    autoPause: row.auto_pause === 1,
    autoPauseMemory: row.auto_pause_memory === 1,
    autoResume: row.auto_resume === 1,
    timeoutSeconds: row.timeout_seconds,
    pausedAt: row.paused_at,
    pausedMemory: row.paused_memory === null ? null : row.paused_memory === 1,
    startedAt: row.started_at,
    runtimeStartedAt: row.runtime_started_at,
    endAt: row.end_at,
    address: row.address,
    envdPort: row.envd_port,
  };
}

export interface TeamRow {
  id: string;
  name: string;
  plan: string;
  max_concurrent_sandboxes: number;
  max_runtime_seconds: number;
  max_paused_sandboxes: number;
  max_disk_mib: number;
}

export const teamColumns =
  't.id, t.name, t.plan, t.max_concurrent_sandboxes, t.max_runtime_seconds, t.max_paused_sandboxes, t.max_disk_mib';

export function toTeam(row: TeamRow): Team {
  return {
    id: row.id,
    name: row.name,
    plan: row.plan,
    maxConcurrentSandboxes: row.max_concurrent_sandboxes,
    maxRuntimeSeconds: row.max_runtime_seconds,
    maxPausedSandboxes: row.max_paused_sandboxes,
    maxDiskMiB: row.max_disk_mib,
  };
}

export const patchColumns: Record<keyof SandboxPatch, string> = {
  state: 'state',
  endAt: 'end_at',
  runtimeStartedAt: 'runtime_started_at',
  address: 'address',
  envdPort: 'envd_port',
  metadata: 'metadata',
  pausedAt: 'paused_at',
  pausedMemory: 'paused_memory',
};
