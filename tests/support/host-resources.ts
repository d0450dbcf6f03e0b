import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/**
 * A snapshot of host resources a sandbox can own, to prove teardown leaves nothing behind:
 * mounts under a directory, loop devices backed by files there, veth links, cgroups named
 * after sandboxes, processes whose cgroup is a sandbox's, and network namespaces of such processes.
 */
export interface HostResources {
  mounts: string[];
  loopDevices: string[];
  veths: string[];
  cgroups: string[];
  processes: string[];
  netns: string[];
}

function lines(text: string): string[] {
  return text.split('\n').filter(Boolean);
}

/** The containers runc knows under a server's data directory (running or not). */
export function runcContainers(dataDir: string): string[] {
  return lines(
    execFileSync('runc', ['--root', `${dataDir}/runtime/runc`, 'list', '-q'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    }).toString(),
  );
}

/** Every mount point of this mount namespace (field 5 of /proc/self/mountinfo). */
export function mountPoints(): string[] {
  return lines(fs.readFileSync('/proc/self/mountinfo', 'utf8')).map((l) => l.split(' ')[4] ?? '');
}

/** Polls until no process of the given sandboxes is left (reaping may lag a moment), then snapshots. */
export async function settledHostResources(dataDir: string, sandboxIds: readonly string[]): Promise<HostResources> {
  let snapshot = hostResources(dataDir, sandboxIds);
  for (let i = 0; i < 50 && snapshot.processes.length > 0; i++) {
    await new Promise((r) => setTimeout(r, 100));
    snapshot = hostResources(dataDir, sandboxIds);
  }
  return snapshot;
}

export function hostResources(dataDir: string, sandboxIds: readonly string[] = []): HostResources {
  // Mount points live in the data directory or in the runtime's machine-wide run directory
  // (/run/sandboxd/sandboxes/<id>/…), which is named after the sandbox.
  const mounts = mountPoints().filter(
    (m) => m.startsWith(`${dataDir}/`) || sandboxIds.some((id) => m.includes(`/${id}/`) || m.endsWith(`/${id}`)),
  );
  const loopDevices: string[] = [];
  for (const dev of fs.readdirSync('/sys/block').filter((d) => d.startsWith('loop'))) {
    try {
      const backing = fs.readFileSync(`/sys/block/${dev}/loop/backing_file`, 'utf8').trim();
      if (backing.startsWith(`${dataDir}/`)) loopDevices.push(`${dev} ${backing}`);
    } catch {
      // Not attached.
    }
  }
  const veths = lines(execFileSync('ip', ['-o', 'link', 'show', 'type', 'veth']).toString()).map(
    (l) => l.split(':')[1]?.trim().split('@')[0] ?? '',
  );
  const cgroups: string[] = [];
  for (const controller of ['memory', 'pids', 'cpu', 'freezer']) {
    const root = `/sys/fs/cgroup/${controller}/sandboxd`;
    if (!fs.existsSync(root)) continue;
    for (const name of fs.readdirSync(root)) {
      // A cgroup being removed while we look is not there any more.
      if (fs.statSync(`${root}/${name}`, { throwIfNoEntry: false })?.isDirectory())
        cgroups.push(`${controller}/${name}`);
    }
  }
  const processes: string[] = [];
  const netns = new Set<string>();
  for (const pid of fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cgroup = fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8');
      // With ids: exactly those sandboxes' processes; without: any sandboxd sandbox's.
      const ours =
        sandboxIds.length > 0
          ? sandboxIds.some((id) => cgroup.includes(`/sandboxd/${id}`))
          : cgroup.includes('/sandboxd/');
      if (ours) {
        processes.push(`${pid} ${fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim()}`);
        netns.add(fs.readlinkSync(`/proc/${pid}/ns/net`));
      }
    } catch {
      // The process exited while we looked.
    }
  }
  return { mounts, loopDevices, veths, cgroups, processes, netns: [...netns] };
}

const slotsDir = path.join(process.env.SANDBOXD_MACHINE_DIR ?? '/var/lib/sandboxd', 'slots');

/** The machine-wide slot claims (address and uid range) held in the name of any of `sandboxIds`. */
export function slotClaimsOf(sandboxIds: readonly string[]): string[] {
  if (!fs.existsSync(slotsDir)) return [];
  return fs
    .readdirSync(slotsDir)
    .filter((f) => sandboxIds.some((id) => fs.readFileSync(path.join(slotsDir, f), 'utf8').includes(id)));
}

/** What is left on the host of one sandbox of a server: all empty once it is really gone. */
export async function sandboxLeftovers(dataDir: string, sandboxId: string) {
  const left = await settledHostResources(dataDir, [sandboxId]);
  return {
    containers: runcContainers(dataDir).filter((c) => c === sandboxId),
    processes: left.processes,
    mounts: left.mounts.filter((m) => m.includes(sandboxId)),
    loopDevices: left.loopDevices.filter((l) => l.includes(sandboxId)),
    cgroups: left.cgroups.filter((c) => c.endsWith(`/${sandboxId}`)),
    slots: slotClaimsOf([sandboxId]),
  };
}
