import fs from 'node:fs/promises';
import path from 'node:path';
import { defaultCriuBinary } from '../host/criu.js';
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
    /** `runc --criu`: the CRIU that checkpoint/restore run (see host/criu.ts). */
    readonly criu = defaultCriuBinary,
  ) {}

  /**
   * `runc run -d`. Its stdio is /dev/null and it inherits no other fd: the container's PID 1
   * inherits runc's stdio, and any host fd in the sandbox makes a later CRIU dump fail
   * (CRIU refuses to dump a task holding a file it cannot restore). runc's own errors go to
   * `logFile` instead.
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

  /**
   * `runc checkpoint`: CRIU dumps the container (frozen first by the caller, cgroups/freezer.ts)
   * into `images`, then runc kills and deletes it. --tcp-established: envd's clients hold
   * keep-alive connections, which CRIU refuses to dump otherwise; --file-locks: apt, dpkg and
   * sqlite inside hold locks, likewise.
   */
  async checkpoint(id: string, dirs: { images: string; work: string; log: string }): Promise<void> {
    const args = ['--log', dirs.log, '--log-format', 'json', 'checkpoint', ...criuFlags(dirs), id];
    try {
      await runCommand(this.binary, this.#args(...args), { timeoutMs: 120_000 });
    } catch (err) {
      throw new Error(`runc checkpoint ${id} failed: ${await criuLogTail(dirs.work, 'dump.log', dirs.log)}`, {
        cause: err,
      });
    }
  }

  /**
   * `runc restore -d` from the same bundle: runc re-creates the namespaces and cgroups from
   * config.json (re-running the prestart network hook), CRIU restores the processes into them.
   * stdio on /dev/null as for `run`: the restored PID 1 inherits nothing from us.
   */
  async restore(
    id: string,
    bundle: string,
    dirs: { images: string; work: string; log: string; pid: string },
  ): Promise<number> {
    const args = ['--log', dirs.log, '--log-format', 'json', 'restore', '-d', ...criuFlags(dirs)];
    args.push('--pid-file', dirs.pid, '--bundle', bundle, id);
    try {
      await runCommand(this.binary, this.#args(...args), { timeoutMs: 120_000, stdio: 'ignore' });
    } catch (err) {
      throw new Error(`runc restore ${id} failed: ${await criuLogTail(dirs.work, 'restore.log', dirs.log)}`, {
        cause: err,
      });
    }
    return Number.parseInt(await fs.readFile(dirs.pid, 'utf8'), 10);
  }

  /** The container's state, or undefined when runc does not know it. */
  async state(id: string): Promise<RuncContainerState | undefined> {
    try {
      const { stdout } = await runCommand(this.binary, this.#args('state', id), { timeoutMs: 30_000 });
      return JSON.parse(stdout) as RuncContainerState;
    } catch {
      return undefined;
    }
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
    return ['--root', this.root, '--criu', this.criu, ...rest];
  }
}

function criuFlags(dirs: { images: string; work: string }): string[] {
  return ['--image-path', dirs.images, '--work-path', dirs.work, '--tcp-established', '--file-locks'];
}

/** CRIU's own log says why a dump/restore failed; runc's log only says that it did. */
async function criuLogTail(workDir: string, name: string, runcLog: string): Promise<string> {
  const text = await fs.readFile(path.join(workDir, name), 'utf8').catch(() => '');
  const errors = text
    .split('\n')
    .filter((l) => /Error|error|fail/.test(l) && !/RLIMIT_NOFILE/.test(l))
    .slice(-4)
    .map((l) => l.trim());
  return [...errors, await lastLogErrors(runcLog)].join(' | ');
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
