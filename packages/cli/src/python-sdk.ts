import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { isAlive } from '@sandboxd/runtime';
import { repoRoot } from './paths.js';
import { runCommand } from './run-command.js';

/**
 * The official E2B Python SDK in a venv of its own, for the Python SDK tests (tests/python). The
 * venv lives under the machine dir, named by a hash of tests/python/requirements.txt (every
 * package pinned), so a changed pin builds a new venv and an unchanged one is reused as it is.
 */
export interface PythonSdkVenv {
  dir: string;
  /** The venv's interpreter: run pytest as `<python> -m pytest`. */
  python: string;
  requirementsPath: string;
}

/** Written last by the set-up: a venv without it is a half-built one. */
const readyMarker = '.sandboxd-ready';
/** Debian's interpreter (python3 + python3-venv from the host packages), not whatever PATH finds first. */
const basePython = '/usr/bin/python3';

export function pythonSdkVenv(machineDir: string): PythonSdkVenv {
  const requirementsPath = path.join(repoRoot, 'tests/python/requirements.txt');
  const hash = createHash('sha256').update(fs.readFileSync(requirementsPath)).digest('hex').slice(0, 16);
  const dir = path.join(machineDir, 'python-sdk', hash);
  return { dir, python: path.join(dir, 'bin/python'), requirementsPath };
}

/** True when the venv was built completely and its interpreter still resolves (the symlink to Debian's). */
export function isPythonSdkReady(venv: PythonSdkVenv): boolean {
  return fs.existsSync(path.join(venv.dir, readyMarker)) && fs.existsSync(venv.python);
}

/**
 * Builds the venv beside its final place and renames it there when pip has finished, so a set-up
 * that dies half-way leaves no venv that looks ready, and two set-ups at once do not share one.
 * (A venv moves fine as long as it is used as `bin/python -m …`: only its scripts' shebangs name
 * the old path.)
 */
export async function buildPythonSdk(venv: PythonSdkVenv, update: (detail: string) => void): Promise<void> {
  const building = `${venv.dir}.building-${process.pid}`;
  fs.mkdirSync(path.dirname(venv.dir), { recursive: true });
  removeAbandonedBuilds(venv.dir);
  try {
    await runCommand(basePython, ['-m', 'venv', building], { onLine: update });
    await runCommand(
      path.join(building, 'bin/python'),
      [
        '-m',
        'pip',
        'install',
        '--no-input',
        '--disable-pip-version-check',
        '--progress-bar=off',
        // Wheels only: nothing is compiled on the host (pyqwest is Rust inside).
        '--only-binary=:all:',
        '-r',
        venv.requirementsPath,
      ],
      { onLine: update },
    );
    fs.writeFileSync(path.join(building, readyMarker), `${new Date().toISOString()}\n`);
    if (isPythonSdkReady(venv)) return; // another set-up finished first: keep its venv
    // What is there is unusable (its base interpreter is gone, or it was never marked ready).
    fs.rmSync(venv.dir, { recursive: true, force: true });
    fs.renameSync(building, venv.dir);
  } finally {
    fs.rmSync(building, { recursive: true, force: true });
  }
}

/** Half-built venvs of set-ups that died (their pid is gone); a running set-up's build is left alone. */
function removeAbandonedBuilds(venvDir: string): void {
  const prefix = `${path.basename(venvDir)}.building-`;
  for (const name of fs.readdirSync(path.dirname(venvDir))) {
    if (!name.startsWith(prefix)) continue;
    const pid = Number(name.slice(prefix.length));
    if (Number.isInteger(pid) && pid !== process.pid && isAlive(pid)) continue;
    fs.rmSync(path.join(path.dirname(venvDir), name), { recursive: true, force: true });
  }
}
