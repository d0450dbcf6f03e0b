import fs from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { cgroupParent } from '../cgroups/cgroup-v1.js';
import { sandboxEnvd } from '../runc/oci-spec.js';

/** Where the tasks of one sandbox are listed: its pids cgroup (every sandbox has a pids limit). */
function procsFile(sandboxId: string): string {
  return path.join('/sys/fs/cgroup/pids', cgroupParent, sandboxId, 'cgroup.procs');
}

interface HostProcess {
  pid: number;
  ppid: number;
  zombie: boolean;
}

/** /proc/<pid>/stat: the command name may hold spaces and parentheses, so parse after the last ')'. */
async function readProcess(pid: number): Promise<HostProcess | undefined> {
  const stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  if (!stat) return undefined;
  const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { pid, ppid: Number(ppid), zombie: state === 'Z' || state === 'X' };
}

async function isEnvd(pid: number): Promise<boolean> {
  const cmdline = await fs.readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  return cmdline.split('\0').includes(sandboxEnvd);
}

/**
 * The sandbox's live processes other than its init (the one whose parent is outside the
 * sandbox: runc's) and envd (init's child running the envd bundle): the ones a graceful close
 * asks to stop. Exited processes awaiting their reaper do not count.
 */
export async function userProcesses(sandboxId: string): Promise<number[]> {
  const text = await fs.readFile(procsFile(sandboxId), 'utf8').catch(() => '');
  const pids = text.split('\n').filter(Boolean).map(Number);
  const inside = new Set(pids);
  const procs = (await Promise.all(pids.map(readProcess))).filter((p): p is HostProcess => !!p && !p.zombie);
  const init = procs.find((p) => !inside.has(p.ppid));
  const users: number[] = [];
  for (const p of procs) {
    if (p === init || (p.ppid === init?.pid && (await isEnvd(p.pid)))) continue;
    users.push(p.pid);
  }
  return users;
}

export interface TerminateResult {
  /** Processes sent SIGTERM. */
  signalled: number;
  /** Of those (and any started meanwhile), how many were still alive when the grace period ended. */
  left: number;
}

/**
 * SIGTERMs every user process of a running sandbox (commands, their children, daemons a start
 * command left behind; not init, not envd, so files and commands keep answering meanwhile),
 * then waits until they have all exited or `graceMs` passed. The signals come from the host
 * (root), so a process that changed its uid or ignores its session still gets one; a process
 * that ignores SIGTERM is the kill's to end.
 */
export async function terminateUserProcesses(sandboxId: string, graceMs: number): Promise<TerminateResult> {
  const pids = await userProcesses(sandboxId);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // exited between the listing and the signal
    }
  }
  const deadline = Date.now() + graceMs;
  let left = pids.length;
  while (left > 0 && Date.now() < deadline) {
    await sleep(Math.min(50, deadline - Date.now()));
    left = (await userProcesses(sandboxId)).length;
  }
  return { signalled: pids.length, left };
}
