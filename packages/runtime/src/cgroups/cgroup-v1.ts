import fs from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * cgroup v1 (hybrid) helpers. runc creates `/sandboxd/<id>` in every mounted hierarchy, the
 * named `systemd` one and the cgroup2 `unified` mount included, and `runc delete` normally removes
 * them; these find and remove what a crash left behind, and read usage for stats.
 */
const cgroupRoot = '/sys/fs/cgroup';
export const cgroupParent = 'sandboxd';

async function hierarchies(): Promise<string[]> {
  const entries = await fs.readdir(cgroupRoot, { withFileTypes: true }).catch(() => []);
  // Co-mounted controllers appear once as a directory and again as symlinks (cpu,cpuacct): skip links.
  return entries.filter((e) => e.isDirectory()).map((e) => path.join(cgroupRoot, e.name));
}

export async function sandboxCgroupDirs(sandboxId: string): Promise<string[]> {
  const dirs = (await hierarchies()).map((h) => path.join(h, cgroupParent, sandboxId));
  const exists = await Promise.all(
    dirs.map((d) =>
      fs.stat(d).then(
        () => true,
        () => false,
      ),
    ),
  );
  return dirs.filter((_, i) => exists[i]);
}

/** Sandbox ids that have a cgroup in any hierarchy. */
export async function listSandboxCgroups(): Promise<Set<string>> {
  const ids = new Set<string>();
  for (const h of await hierarchies()) {
    const entries = await fs.readdir(path.join(h, cgroupParent), { withFileTypes: true }).catch(() => []);
    for (const e of entries) if (e.isDirectory()) ids.add(e.name);
  }
  return ids;
}

/**
 * rmdir of every cgroup of the sandbox. A cgroup whose last task is still exiting is busy for a
 * moment after SIGKILL, so EBUSY is retried briefly; one that still has tasks is left (and reported).
 */
export async function removeSandboxCgroups(sandboxId: string): Promise<string[]> {
  const left: string[] = [];
  for (const dir of await sandboxCgroupDirs(sandboxId)) {
    let removed = false;
    for (let attempt = 0; attempt < 20 && !removed; attempt++) {
      try {
        await fs.rmdir(dir);
        removed = true;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') removed = true;
        else if (code === 'EBUSY') await sleep(25);
        else break;
      }
    }
    if (!removed) left.push(dir);
  }
  return left;
}

/** Whether any cgroup of the sandbox still holds a task (a process or thread). */
export async function sandboxHasTasks(sandboxId: string): Promise<boolean> {
  for (const dir of await sandboxCgroupDirs(sandboxId)) {
    const tasks = await fs.readFile(path.join(dir, 'tasks'), 'utf8').catch(() => '');
    if (tasks.trim() !== '') return true;
  }
  return false;
}

/**
 * SIGKILLs every task of the sandbox, for when runc cannot (its state is gone). runc also places
 * the tasks in the cgroup2 `unified` mount, whose `cgroup.kill` (Linux 5.14) kills the whole
 * subtree in one write, PID 1 included. A v1-frozen task cannot act on the signal, so the
 * freezer is thawed after it.
 */
export async function killSandboxTasks(sandboxId: string): Promise<void> {
  await fs.writeFile(path.join(cgroupRoot, 'unified', cgroupParent, sandboxId, 'cgroup.kill'), '1').catch(() => {});
  await fs
    .writeFile(path.join(cgroupRoot, 'freezer', cgroupParent, sandboxId, 'freezer.state'), 'THAWED')
    .catch(() => {});
}

export interface CgroupStats {
  memoryBytes: number;
  cpuUsageNs: number;
  pids: number;
  /**
   * Anonymous plus shared memory (memory.stat total_rss + total_shmem): about what a memory
   * pause's images hold. memoryBytes also counts the page cache, which CRIU does not dump: a
   * sandbox that wrote 500 MiB of files shows ~530 MiB there and dumps ~17 MB.
   */
  anonBytes?: number;
}

export async function readSandboxStats(sandboxId: string): Promise<CgroupStats | undefined> {
  const read = (controller: string, file: string) =>
    fs.readFile(path.join(cgroupRoot, controller, cgroupParent, sandboxId, file), 'utf8').then(
      (t) => Number.parseInt(t.trim(), 10),
      () => undefined,
    );
  const [memoryBytes, cpuUsageNs, pids, memoryStat] = await Promise.all([
    read('memory', 'memory.usage_in_bytes'),
    read('cpuacct', 'cpuacct.usage'),
    read('pids', 'pids.current'),
    fs.readFile(path.join(cgroupRoot, 'memory', cgroupParent, sandboxId, 'memory.stat'), 'utf8').catch(() => ''),
  ]);
  if (memoryBytes === undefined && cpuUsageNs === undefined && pids === undefined) return undefined;
  const stat = (name: string) => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(memoryStat)?.[1] ?? Number.NaN);
  const anonBytes = stat('total_rss') + stat('total_shmem');
  return {
    memoryBytes: memoryBytes ?? 0,
    cpuUsageNs: cpuUsageNs ?? 0,
    pids: pids ?? 0,
    ...(Number.isFinite(anonBytes) ? { anonBytes } : {}),
  };
}
