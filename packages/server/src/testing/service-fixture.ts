import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type Clock, SandboxdError, silentLogger } from '@sandboxd/common';
import type { HostStorage } from '../lifecycle/host-storage.js';
import type { CreateSandboxCommand, LifecycleHooks } from '../lifecycle/sandbox-service.js';
import { SandboxService } from '../lifecycle/sandbox-service.js';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import type { Team } from '../store/store.js';
import { MemoryRuntime } from './memory-runtime.js';

export const testTeam: Team = {
  id: 't1',
  name: 't1',
  plan: 'pro',
  maxConcurrentSandboxes: 3,
  maxRuntimeSeconds: 86_400,
  maxPausedSandboxes: 3,
  maxDiskMiB: 100 * 10240,
};

export const createCommand: CreateSandboxCommand = {
  templateId: 'base',
  timeoutSeconds: 60,
  metadata: {},
  envVars: {},
  secure: true,
  allowInternetAccess: true,
  autoPause: false,
  autoPauseMemory: true,
  autoResume: false,
};

export interface ServiceFixture {
  dir: string;
  store: SqliteStore;
  runtime: MemoryRuntime;
  service: SandboxService;
  close(): Promise<void>;
}

/** A SandboxService over a real SQLite store (in a temp dir) and the in-memory runtime. */
export function openServiceFixture(
  options: {
    teams?: Team[];
    clock?: Clock;
    hooks?: LifecycleHooks;
    /** Host-space admission; `runtime` is the fixture's, for one whose growth reads its disks. */
    storage?: (runtime: MemoryRuntime) => HostStorage;
  } = {},
): ServiceFixture {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sandboxd-lifecycle-'));
  const store = new SqliteStore(path.join(dir, 'db.sqlite'));
  store.migrate();
  for (const team of options.teams ?? [testTeam]) store.createTeam(team);
  const runtime = new MemoryRuntime();
  const service = new SandboxService({
    store,
    runtime,
    clock: options.clock ?? { now: () => Date.now() },
    logger: silentLogger,
    limits: { cpuCount: 2, memoryMiB: 2048, diskSizeMiB: 10240, pids: 1024 },
    resolveTemplate: async (id) => {
      if (id !== 'base') throw new SandboxdError('TEMPLATE_NOT_FOUND', `template '${id}' not found`);
      return id;
    },
    ...(options.hooks ? { hooks: options.hooks } : {}),
    ...(options.storage ? { storage: options.storage(runtime) } : {}),
  });
  return {
    dir,
    store,
    runtime,
    service,
    async close() {
      await service.close();
      store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
