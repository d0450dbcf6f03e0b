/**
 * Pseudo-terminals for pty.create (Start with `pty`). Node can open /dev/ptmx but cannot unlock it, make it a
 * controlling terminal or set its window size (ioctls), so a ~100-line static C helper
 * (runtime/native/envd-helper.c, bind-mounted at /opt/sandboxd/envd-helper) does exactly those
 * and then execs the command: envd keeps the master end itself and there is no relay process,
 * so the pid we report is the shell's. Chosen over node-pty (a native addon compiled at install,
 * loaded into envd) and python3's pty module (depends on the template).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import tty from 'node:tty';
import { SandboxdError } from '@sandboxd/common';

export interface PtySize {
  cols: number;
  rows: number;
}

/** How long after the exit we keep reading output still in the terminal (background jobs may hold it open). */
const DRAIN_AFTER_EXIT_MS = 500;

export interface Pty {
  master: tty.ReadStream;
  write(data: Uint8Array): Promise<void>;
  resize(size: PtySize): Promise<void>;
  /** Resolves when the terminal has no more output (every slave closed) or after a grace period. */
  drained(): Promise<void>;
  close(): void;
}

export function validPtySize(size: { cols?: number; rows?: number } | undefined): PtySize {
  const cols = size?.cols ?? 0;
  const rows = size?.rows ?? 0;
  if (!(cols >= 1 && cols <= 65535 && rows >= 1 && rows <= 65535)) {
    throw new SandboxdError('INVALID_REQUEST', `invalid pty size ${cols}x${rows}: cols and rows must be 1..65535`);
  }
  return { cols, rows };
}

export function openPty(
  helper: string,
  size: PtySize,
  uid: number,
  command: { file: string; argv: string[]; env: Record<string, string>; cwd: string },
): { child: ChildProcess; pty: Pty } {
  let fd: number;
  try {
    fd = fs.openSync('/dev/ptmx', fs.constants.O_RDWR | fs.constants.O_NOCTTY);
  } catch (err) {
    throw new SandboxdError('INTERNAL', 'cannot open a pseudo-terminal (/dev/ptmx)', { cause: err });
  }
  let child: ChildProcess;
  try {
    child = spawn(
      helper,
      ['exec', String(size.rows), String(size.cols), String(uid), '--', command.file, ...command.argv],
      { cwd: command.cwd, env: command.env, detached: true, stdio: ['ignore', 'ignore', 'ignore', fd] },
    );
  } catch (err) {
    fs.closeSync(fd);
    throw new SandboxdError('INTERNAL', 'failed to start the pty helper', { cause: err });
  }
  const master = new tty.ReadStream(fd);
  let ended = false;
  let onEnded: (() => void) | undefined;
  const markEnded = () => {
    ended = true;
    onEnded?.();
  };
  // Reading the master fails with EIO once the last slave fd closes: that is the terminal's EOF.
  master.on('error', markEnded);
  master.on('end', markEnded);
  master.on('close', markEnded);
  const pty: Pty = {
    master,
    write: (data) =>
      new Promise((resolve, reject) => {
        if (master.destroyed) {
          reject(new SandboxdError('INVALID_REQUEST', 'the terminal is closed'));
          return;
        }
        master.write(data, (err) =>
          err
            ? reject(new SandboxdError('INVALID_REQUEST', 'writing to the terminal failed', { cause: err }))
            : resolve(),
        );
      }),
    resize: (next) =>
      new Promise((resolve, reject) => {
        if (master.destroyed) {
          reject(new SandboxdError('INVALID_REQUEST', 'the terminal is closed'));
          return;
        }
        const resizer = spawn(helper, ['resize', String(next.rows), String(next.cols)], {
          stdio: ['ignore', 'ignore', 'ignore', fd],
        });
        resizer.once('error', (err) => reject(new SandboxdError('INTERNAL', 'pty resize failed', { cause: err })));
        resizer.once('exit', (code) =>
          code === 0 ? resolve() : reject(new SandboxdError('INTERNAL', `pty resize failed (exit ${code})`)),
        );
      }),
    drained: () =>
      new Promise((resolve) => {
        if (ended) return resolve();
        const timer = setTimeout(resolve, DRAIN_AFTER_EXIT_MS);
        onEnded = () => {
          clearTimeout(timer);
          resolve();
        };
      }),
    close: () => {
      if (!master.destroyed) master.destroy();
    },
  };
  return { child, pty };
}
