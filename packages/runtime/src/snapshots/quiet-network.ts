import fs from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Waits until the sandbox holds no TCP connection on its own address, only loopback ones and
 * listeners. A restored copy has another address: a connection of the snapshot's address (the
 * host's last /health or /ready probe, not yet closed on envd's side) could not be restored
 * there, while loopback connections (a Jupyter server and its kernels) must come back as they
 * were, so the restore keeps established connections (`--tcp-established`) rather than closing
 * them all. Read from the host, through /proc/<pid>/net of the sandbox's PID 1.
 */
export async function waitForQuietNetwork(pid: number, timeoutMs = 10_000): Promise<void> {
  const end = performance.now() + timeoutMs;
  for (;;) {
    const open = await externalConnections(pid);
    if (open.length === 0) return;
    if (performance.now() > end) throw new Error(`the snapshot sandbox keeps connections open: ${open.join(', ')}`);
    await sleep(20);
  }
}

/** Listeners, and TIME_WAIT: the kernel's alone once the socket is closed, no process holds it, CRIU ignores it. */
const ignored = new Set(['0A', '06']);
const loopback4 = /^[0-9A-F]{6}7F:/; // 127.x.x.x, little-endian hex
const loopback6 = /^0{24}01000000:|^0{20}FFFF0000[0-9A-F]{6}7F:/;

async function externalConnections(pid: number): Promise<string[]> {
  const tables = await Promise.all(
    ['tcp', 'tcp6'].map((t) => fs.readFile(`/proc/${pid}/net/${t}`, 'utf8').catch(() => '')),
  );
  const open: string[] = [];
  for (const table of tables) {
    for (const line of table.split('\n').slice(1)) {
      const [, local, remote, state] = line.trim().split(/\s+/);
      if (!local || !remote || !state || ignored.has(state)) continue;
      if (loopback4.test(local) || loopback6.test(local)) continue;
      open.push(`${local}->${remote}(${state})`);
    }
  }
  return open;
}
