import fs from 'node:fs/promises';
import { thawSandbox } from '../cgroups/freezer.js';
import { readPauseRecord } from '../checkpoint/pause-record.js';
import type { RuntimeSandbox } from '../runtime.js';
import type { RuncCli } from './runc-cli.js';
import { type SandboxPaths, sandboxesDir } from './sandbox-paths.js';
import { readRecord } from './sandbox-record.js';

/** Every sandbox of the state dir with a sandbox.json (but those `skip` names), with what runc says of it. */
export async function listSandboxes(o: {
  stateDir: string;
  runc: RuncCli;
  envdPort: number;
  paths: (sandboxId: string) => SandboxPaths;
  skip: ReadonlySet<string>;
  /** Pauses and resumes in flight in this process: frozen on purpose, never thawed here. */
  busy: ReadonlySet<string>;
}): Promise<RuntimeSandbox[]> {
  const ids = await fs.readdir(sandboxesDir(o.stateDir)).catch(() => [] as string[]);
  const states = new Map((await o.runc.list().catch(() => [])).map((s) => [s.id, s]));
  const sandboxes: RuntimeSandbox[] = [];
  for (const id of ids) {
    if (o.skip.has(id)) continue;
    const paths = o.paths(id);
    const record = await readRecord(paths.dir);
    if (!record) continue;
    let state = states.get(id);
    // A container wins over a pause record: a resume that crashed after the restore but
    // before its commit left a running sandbox.
    const paused = state?.status === 'running' ? undefined : await readPauseRecord(paths.pauseRecord);
    if (state?.status === 'paused' && !paused && !o.busy.has(id)) {
      // Frozen with no pause record: a pause died before its dump finished (the server was
      // killed mid-way). Nothing was taken from the processes, so thawed they simply run on.
      await thawSandbox(id);
      state = { ...state, status: 'running' };
    }
    sandboxes.push({
      sandboxId: id,
      address: record.address,
      envdPort: o.envdPort,
      pid: paused ? 0 : (state?.pid ?? 0),
      status: paused ? 'paused' : !state ? 'unknown' : state.status === 'running' ? 'running' : 'stopped',
      ...(paused ? { paused } : {}),
    });
  }
  return sandboxes;
}
