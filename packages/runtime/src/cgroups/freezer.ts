import fs from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { cgroupParent } from './cgroup-v1.js';

/**
 * The cgroup v1 freezer of one sandbox, driven directly instead of through `runc pause`.
 *
 * Why not `runc pause`: runc (1.1) writes FROZEN, reads the state back, and every 50 reads (about
 * a millisecond) thaws the cgroup and sleeps 10 ms; after 1000 reads it gives up with "unable to
 * freeze". A sleeping task freezes at once, but one that is running or runnable only freezes when
 * it is next scheduled, and one in uninterruptible sleep (a page fault on a busy disk) only once
 * it wakes. A sandbox fresh from the warm pool has such tasks: Node is still starting (JIT and GC
 * threads busy, code being faulted in), while other sandboxes being created keep both CPUs and the
 * disk busy. Each of runc's thaws throws away what froze so far, so the whole cgroup has to freeze
 * within one of its millisecond windows, and on a loaded host about 1 pause in 50 never did. Here
 * the same pauses took p50 ~50 ms, p95 ~220 ms, at worst ~700 ms to settle.
 *
 * So FROZEN is written once and re-asserted while we wait, never thawed in between: tasks that
 * froze stay frozen and the cgroup settles as soon as the slowest task has run. runc derives a
 * container's "paused" status from this same file, so `runc checkpoint` sees the container paused
 * as if `runc pause` had frozen it.
 */
const freezerRoot = '/sys/fs/cgroup/freezer';

type FreezerState = 'THAWED' | 'FREEZING' | 'FROZEN';

function freezerDir(sandboxId: string): string {
  return path.join(freezerRoot, cgroupParent, sandboxId);
}

export async function readFreezerState(sandboxId: string): Promise<FreezerState | undefined> {
  const text = await fs.readFile(path.join(freezerDir(sandboxId), 'freezer.state'), 'utf8').catch(() => undefined);
  const state = text?.trim();
  return state === 'THAWED' || state === 'FREEZING' || state === 'FROZEN' ? state : undefined;
}

async function writeFreezerState(sandboxId: string, state: 'THAWED' | 'FROZEN'): Promise<void> {
  await fs.writeFile(path.join(freezerDir(sandboxId), 'freezer.state'), state);
}

/** The freezer did not settle in time; `stragglers` says which tasks had not frozen, and where they slept. */
export class FreezeTimeoutError extends Error {
  constructor(
    readonly sandboxId: string,
    readonly waitedMs: number,
    readonly stragglers: string[],
  ) {
    super(`sandbox ${sandboxId} did not freeze within ${waitedMs} ms (not frozen: ${stragglers.join(', ') || 'none'})`);
    this.name = 'FreezeTimeoutError';
  }
}

export interface FreezeOptions {
  /** How long to wait for FROZEN before thawing and giving up (default 3 s). */
  settleMs?: number;
}

/**
 * Freezes every task of the sandbox and resolves once the kernel reports FROZEN. On timeout the
 * cgroup is thawed again (a cgroup left FREEZING is half-stopped) and FreezeTimeoutError is thrown.
 * A missing freezer cgroup (no container) throws ENOENT from the first write.
 */
export async function freezeSandbox(sandboxId: string, options: FreezeOptions = {}): Promise<void> {
  const settleMs = options.settleMs ?? 3_000;
  const started = performance.now();
  let delayMs = 1;
  await writeFreezerState(sandboxId, 'FROZEN');
  for (;;) {
    if ((await readFreezerState(sandboxId)) === 'FROZEN') return;
    const waited = performance.now() - started;
    if (waited >= settleMs) break;
    await sleep(delayMs);
    delayMs = Math.min(delayMs * 2, 50);
    // Re-asserting FROZEN kicks tasks that joined (forked) or woke since the last write.
    await writeFreezerState(sandboxId, 'FROZEN');
  }
  const stragglers = await unfrozenTasks(sandboxId);
  await thawSandbox(sandboxId).catch(() => {});
  throw new FreezeTimeoutError(sandboxId, Math.round(performance.now() - started), stragglers);
}

export async function thawSandbox(sandboxId: string): Promise<void> {
  await writeFreezerState(sandboxId, 'THAWED');
}

/**
 * Threads of the cgroup that are not in the refrigerator: `<tid> <comm> <state> <wchan>`. A frozen
 * task sleeps in `__refrigerator` (state D); anything else is what the freezer still waits for.
 */
async function unfrozenTasks(sandboxId: string): Promise<string[]> {
  const text = await fs.readFile(path.join(freezerDir(sandboxId), 'tasks'), 'utf8').catch(() => '');
  const out: string[] = [];
  for (const tid of text.split('\n').filter(Boolean)) {
    const [stat, wchan] = await Promise.all([
      fs.readFile(`/proc/${tid}/stat`, 'utf8').catch(() => ''),
      fs.readFile(`/proc/${tid}/wchan`, 'utf8').catch(() => ''),
    ]);
    if (wchan.includes('refrigerator')) continue;
    const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    out.push(`${tid} ${comm} ${state} ${wchan || '?'}`);
    if (out.length >= 8) break;
  }
  return out;
}
