import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { StartupError } from './startup-error.js';

export const lockFileName = 'sandboxd.lock';

export interface DataDirLock {
  readonly path: string;
  /** Idempotent. The kernel releases the lock too when the process dies, however it dies. */
  release(): void;
}

/**
 * Takes the data directory for this process: an exclusive `flock(2)` on `<dataDir>/sandboxd.lock`,
 * held as long as the returned lock (or the process) lives. A second server on the same directory
 * would reconcile and sweep the first one's sandboxes, so it must stop before touching anything.
 *
 * Node has no flock binding: util-linux's `flock <fd>` locks the open file description it
 * inherits as fd 3 and exits, and the lock stays with our descriptor (opened close-on-exec, so
 * no sandbox process inherits it and outlives us holding it).
 */
export function lockDataDir(dataDir: string): DataDirLock {
  const lockPath = path.join(dataDir, lockFileName);
  const fd = fs.openSync(lockPath, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o600);
  let locked = false;
  try {
    const flock = spawnSync('flock', ['--nonblock', '--exclusive', '--conflict-exit-code', '75', '3'], {
      stdio: ['ignore', 'ignore', 'pipe', fd],
    });
    if (flock.error) throw new StartupError(`cannot lock ${lockPath}: ${flock.error.message}`, { cause: flock.error });
    if (flock.status === 75) {
      const holder = fs.readFileSync(lockPath, 'utf8').trim();
      throw new StartupError(
        `another sandboxd server${/^\d+$/.test(holder) ? ` (pid ${holder})` : ''} is using the data directory ${dataDir}; ` +
          'stop it first or choose another --data-dir',
      );
    }
    if (flock.status !== 0) {
      throw new StartupError(`cannot lock ${lockPath}: flock exited with ${flock.status}: ${flock.stderr}`);
    }
    locked = true;
    // Who holds it, for the message above (informational: the lock itself is the flock).
    fs.ftruncateSync(fd);
    fs.writeSync(fd, `${process.pid}\n`, 0);
  } finally {
    if (!locked) fs.closeSync(fd);
  }
  let released = false;
  return {
    path: lockPath,
    release() {
      if (released) return;
      released = true;
      // Closing the only descriptor of the open file description drops the flock.
      fs.closeSync(fd);
    },
  };
}
