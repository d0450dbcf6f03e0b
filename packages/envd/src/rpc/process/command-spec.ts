/**
 * Turns a Start request into exactly what gets executed: the requested `cmd` + `args` as the
 * requested user with their supplementary groups, a constructed environment (never envd's own),
 * and a cwd that must exist. What execve could never take (a NUL byte, an `=` in an env name,
 * more than the kernel's argument limits) is refused here with a clear 400, before spawning.
 */
import fs from 'node:fs/promises';
import { SandboxdError } from '@sandboxd/common';
import type { EnvdConfig } from '../../config.js';
import { resolveUserPath } from '../../system/paths.js';
import type { SandboxUser } from '../../system/users.js';
import type { ProcessSpec } from './managed-process.js';
import type { PtySize } from './pty.js';

/** setpriv changes ids and groups, then execs: the pid we report is the command's own pid. */
const SETPRIV = '/usr/bin/setpriv';
const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface CommandRequest {
  cmd: string;
  args: string[];
  envs: Record<string, string>;
  cwd?: string;
  stdin: boolean;
  tag?: string;
  pty?: { helper: string; size: PtySize };
}

export async function commandSpec(
  request: CommandRequest,
  user: SandboxUser,
  config: EnvdConfig,
): Promise<ProcessSpec> {
  if (request.cmd === '') throw new SandboxdError('INVALID_REQUEST', 'process cmd is empty');
  checkExecArguments(request);
  const cwd = resolveUserPath(request.cwd ?? '', user, config.defaultWorkdir);
  const stat = await fs.stat(cwd).catch(() => undefined);
  if (!stat?.isDirectory()) throw new SandboxdError('INVALID_REQUEST', `cwd '${cwd}' does not exist`);

  // Priority, lowest first: the user's login basics, sandbox-wide envVars, the request's envs.
  const env: Record<string, string> = {
    PATH: DEFAULT_PATH,
    HOME: user.home,
    USER: user.name,
    LOGNAME: user.name,
    SHELL: user.shell,
    ...config.envVars,
    ...request.envs,
  };
  const { file, argv } = asUser(request.cmd, request.args, user);
  return {
    request: { cmd: request.cmd, args: request.args, envs: request.envs, ...(request.cwd ? { cwd: request.cwd } : {}) },
    file,
    argv,
    env,
    cwd,
    // A terminal has no separate stdin pipe: input goes through the pty.
    stdin: request.pty ? false : request.stdin,
    ...(request.tag !== undefined ? { tag: request.tag } : {}),
    ...(request.pty ? { pty: { helper: request.pty.helper, size: request.pty.size, uid: user.uid } } : {}),
  };
}

function asUser(cmd: string, args: string[], user: SandboxUser): { file: string; argv: string[] } {
  // Without root (a developer running envd by hand) there is nobody to switch to: run as is.
  if (process.getuid?.() !== 0) return { file: cmd, argv: args };
  // Node's own uid/gid spawn options drop supplementary groups (libuv calls setgroups(0)), so
  // sudo-style group membership (e.g. `docker`) would vanish; setpriv sets them explicitly from
  // /etc/group as read for this request.
  return {
    file: SETPRIV,
    argv: [`--reuid=${user.uid}`, `--regid=${user.gid}`, `--groups=${user.groups.join(',')}`, '--', cmd, ...args],
  };
}

/** Linux's MAX_ARG_STRLEN (one argument or NAME=value) and a total well under ARG_MAX (2 MiB). */
const MAX_ARG_BYTES = 128 * 1024;
const MAX_TOTAL_BYTES = 1024 * 1024;

function checkExecArguments(request: CommandRequest): void {
  const strings = [request.cmd, ...request.args];
  if (strings.some((s) => s.includes('\0'))) {
    throw new SandboxdError('INVALID_REQUEST', 'process cmd and args must not contain NUL bytes');
  }
  for (const [name, value] of Object.entries(request.envs)) {
    if (name === '' || name.includes('=') || name.includes('\0') || value.includes('\0')) {
      throw new SandboxdError('INVALID_REQUEST', `invalid environment variable name or value: ${JSON.stringify(name)}`);
    }
    strings.push(`${name}=${value}`);
  }
  let total = 0;
  for (const s of strings) {
    const bytes = Buffer.byteLength(s) + 1;
    if (bytes > MAX_ARG_BYTES) {
      throw new SandboxdError('INVALID_REQUEST', `an argument or env var is ${bytes} bytes, at most ${MAX_ARG_BYTES}`);
    }
    total += bytes;
  }
  if (total > MAX_TOTAL_BYTES) {
    throw new SandboxdError('INVALID_REQUEST', `args and envs are ${total} bytes, at most ${MAX_TOTAL_BYTES}`);
  }
}
