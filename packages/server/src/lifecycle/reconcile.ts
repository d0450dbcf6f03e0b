import type { Clock } from '@sandboxd/common';
import type { SandboxRuntime } from '@sandboxd/runtime';
import type { Store } from '../store/store.js';
import { deadlineFor } from './admission.js';
import type { StateWriter } from './state-writer.js';

export interface ReconcileResult {
  adopted: string[];
  paused: string[];
  lost: string[];
  swept: string[];
}

/**
 * Start-up: make the store and the runtime agree, by what the runtime finds (a running container,
 * or a committed pause record). Running sandboxes are re-adopted (a resume that crashed after its
 * restore counts as done, with a new run); paused ones are kept (a pause that crashed after its
 * commit counts as done, one that crashed before it leaves the sandbox running); rows whose
 * sandbox is gone become `killed`; the runtime sweeps everything else it holds.
 */
export async function reconcile(d: {
  store: Store;
  runtime: SandboxRuntime;
  clock: Clock;
  writer: StateWriter;
}): Promise<ReconcileResult> {
  const live = new Map((await d.runtime.list()).map((s) => [s.sandboxId, s]));
  const result: ReconcileResult = { adopted: [], paused: [], lost: [], swept: [] };
  const now = d.clock.now();
  const candidates = d.store.sandboxesInStates(['creating', 'running', 'killing', 'pausing', 'paused', 'resuming']);
  for (const record of candidates) {
    const found = live.get(record.id);
    const cause = 'system';
    if (found?.status === 'running' && ['running', 'pausing', 'resuming'].includes(record.state)) {
      if (record.state === 'running') d.writer.apply(record, 'readopt', { cause, endpoint: found });
      else if (record.state === 'pausing') {
        d.writer.apply(record, 'fail-pause', { cause, endpoint: found, detail: 'the pause never committed' });
      } else {
        const team = d.store.getTeam(record.teamId);
        const endAt = team ? deadlineFor(team, now, record.timeoutSeconds, now) : now + record.timeoutSeconds * 1000;
        d.writer.apply(record, 'finish-resume', {
          cause,
          endpoint: found,
          patch: { runtimeStartedAt: now, endAt, pausedAt: null, pausedMemory: null },
          detail: 'the restore completed before the server stopped',
        });
      }
      result.adopted.push(record.id);
      continue;
    }
    if (found?.status === 'paused' && ['paused', 'pausing', 'resuming'].includes(record.state)) {
      const patch = { pausedAt: record.pausedAt ?? now, pausedMemory: found.paused?.memory ?? true };
      const detail = 'an interrupted pause or resume left it paused';
      if (record.state === 'pausing') d.writer.apply(record, 'finish-pause', { cause, patch, detail });
      if (record.state === 'resuming') d.writer.apply(record, 'fail-resume', { cause, patch, detail });
      result.paused.push(record.id);
      continue;
    }
    d.writer.apply(record, 'mark-lost', {
      cause,
      detail: `${record.state} sandbox not found intact after a restart of the server`,
    });
    result.lost.push(record.id);
  }
  result.swept = await d.runtime.sweep(new Set([...result.adopted, ...result.paused]));
  return result;
}
