import fs from 'node:fs/promises';
import { tryCommand } from '../process/run-command.js';
import { vethPrefix } from '../slots/slot.js';

/**
 * Deletes a host veth if it still exists. Normally the pair dies with the sandbox's netns, but the
 * netns is freed asynchronously after the last task exits, so the host end can linger briefly.
 */
export async function deleteVeth(name: string): Promise<void> {
  if (!(await vethExists(name))) return;
  await tryCommand('ip', ['link', 'del', name]);
}

export async function vethExists(name: string): Promise<boolean> {
  return fs.stat(`/sys/class/net/${name}`).then(
    () => true,
    () => false,
  );
}

/** Slot indexes of host veths carrying our prefix (`sbxv<slot>`). */
export async function listSandboxVeths(): Promise<number[]> {
  const names = await fs.readdir('/sys/class/net').catch(() => [] as string[]);
  return names
    .filter((n) => n.startsWith(vethPrefix) && /^\d+$/.test(n.slice(vethPrefix.length)))
    .map((n) => Number.parseInt(n.slice(vethPrefix.length), 10));
}
