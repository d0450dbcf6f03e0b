import fs from 'node:fs/promises';
import { runCommand, tryCommand } from '../process/run-command.js';

export interface RuncContainerState {
  id: string;
  pid: number;
  status: string;
  bundle: string;
}

/**
 * Thin wrapper over the runc binary, bound to one `--root` (per server state dir, so two servers
 * never see each other's containers).
 */
export class RuncCli {
  constructor(
    readonly root: string,
    readonly binary = 'runc',
  ) {}

  /**
   * `runc run -d`. Its stdio is /dev/null and it inherits no other fd: the container's PID 1
   * inherits runc's stdio, and any host fd in the sandbox makes a later CRIU dump fail
   * (RUNTIME-NOTES A §4.5). runc's own errors go to `logFile` instead.
   */
  async run(id: string, bundle: string, files: { log: string; pid: string }): Promise<number> {
    const args = [
      '--log',
      files.log,
      '--log-format',
      'json',
      'run',
      '-d',
      '--pid-file',
      files.pid,
      '--bundle',
      bundle,
      id,
    ];
    try {
      await runCommand(this.binary, this.#args(...args), { timeoutMs: 30_000, stdio: 'ignore' });
    } catch (err) {
      throw new Error(`runc run ${id} failed: ${await lastLogErrors(files.log)}`, { cause: err });
    }
    return Number.parseInt(await fs.readFile(files.pid, 'utf8'), 10);
  }

  /** Kills and removes the container; true when it existed. */
  delete(id: string): Promise<boolean> {
    return tryCommand(this.binary, this.#args('delete', '--force', id), { timeoutMs: 30_000 });
  }

  async list(): Promise<RuncContainerState[]> {
    const { stdout } = await runCommand(this.binary, this.#args('list', '--format', 'json'), { timeoutMs: 30_000 });
    return (JSON.parse(stdout || 'null') as RuncContainerState[] | null) ?? [];
  }

  #args(...rest: string[]): string[] {
    return ['--root', this.root, ...rest];
  }
}

async function lastLogErrors(logFile: string): Promise<string> {
  const text = await fs.readFile(logFile, 'utf8').catch(() => '');
  const messages = text
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      try {
        const entry = JSON.parse(line) as { level?: string; msg?: string };
        return entry.level === 'error' || entry.level === 'fatal' ? entry.msg : undefined;
      } catch {
        return line;
      }
    })
    .filter((m): m is string => Boolean(m));
  return messages.slice(-3).join(' | ') || 'no runc log';
}
