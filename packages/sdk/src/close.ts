import type { Sandbox as E2bSandbox } from 'e2b';

/** How long `close()` lets commands exit after SIGTERM before the sandbox is killed. */
export const DEFAULT_CLOSE_GRACE_MS = 2000;

const POLL_MS = 100;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * SIGTERMs every command the sandbox runs, waits until they have exited or `graceMs` passed.
 * The official commands API only sends SIGKILL (`commands.kill`), so the signal is sent by a
 * `kill` run as root through `commands.run`: to the process group first (envd starts each command
 * as a group leader, so a shell's children get it too), else to the process alone.
 */
export async function terminateCommands(sandbox: E2bSandbox, graceMs: number): Promise<void> {
  const pids = (await sandbox.commands.list()).map((p) => p.pid);
  if (pids.length === 0) return;
  const script = pids.map((pid) => `kill -TERM -- -${pid} 2>/dev/null || kill -TERM ${pid} 2>/dev/null`).join('; ');
  await sandbox.commands.run(`${script}; true`, { user: 'root' });
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    const left = (await sandbox.commands.list()).filter((p) => pids.includes(p.pid));
    if (left.length === 0) return;
    await sleep(Math.min(POLL_MS, Math.max(0, deadline - Date.now())));
  }
}
