import type { SandboxEvent, SandboxRecord } from '../store/store.js';

/** A complete, plausible sandbox row for store tests and benchmarks; override what matters. */
export function sampleRecord(id: string, overrides: Partial<SandboxRecord> = {}): SandboxRecord {
  return {
    id,
    teamId: 't1',
    templateId: 'base',
    alias: 'base',
    state: 'running',
    metadata: {},
    envVars: {},
    cpuCount: 2,
    memoryMiB: 2048,
    diskSizeMiB: 10240,
    envdVersion: '0.6.4',
    envdAccessToken: null,
    allowInternetAccess: true,
    autoPause: false,
    autoPauseMemory: true,
    autoResume: false,
    timeoutSeconds: 300,
    pausedAt: null,
    pausedMemory: null,
    startedAt: 1000,
    runtimeStartedAt: 1000,
    endAt: 2000,
    address: null,
    envdPort: null,
    ...overrides,
  };
}

/** The `created` event a test inserts a row with. */
export function createdEvent(record: Pick<SandboxRecord, 'id' | 'teamId' | 'startedAt'>): SandboxEvent {
  return { sandboxId: record.id, teamId: record.teamId, time: record.startedAt, type: 'created', cause: 'user' };
}
