import { execFileSync } from 'node:child_process';
import { runCommand } from './run-command.js';

/**
 * Debian packages the runtime needs on the host: runc (containers), iptables (sandbox firewall,
 * and CRIU's network lock: CRIU runs iptables-restore in the sandbox's netns during a dump and a
 * restore), debootstrap (templates), iproute2 (veth), e2fsprogs (disk images), tini (PID 1 that
 * reaps orphans), gcc + libc6-dev (our small idmapped-mount helper), python3 + python3-venv (the
 * venv of the Python SDK tests, python-sdk.ts). CRIU's build dependencies
 * are installed by its own step (criu-build.ts), only when it has to be built.
 */
export const hostPackages = [
  'runc',
  'iptables',
  'debootstrap',
  'iproute2',
  'e2fsprogs',
  'tini',
  'gcc',
  'libc6-dev',
  'python3',
  'python3-venv',
];

/**
 * Debian packages only the test suite uses, installed by `sandboxd setup --for-tests` (what
 * `npm test` runs): chromium, the browser Playwright drives for the SDK's browser-build test
 * (Playwright's own browser download needs the internet; Debian's build does not).
 */
export const testHostPackages = ['chromium'];

export function missingHostPackages(): string[] {
  return missingPackages(hostPackages);
}

export function missingPackages(names: readonly string[]): string[] {
  return names.filter((name) => {
    try {
      // dpkg-query's own format syntax, not a JS template.
      const format = '-f=$' + '{Status}';
      const status = execFileSync('dpkg-query', ['-W', format, name], { stdio: ['ignore', 'pipe', 'ignore'] });
      return !status.toString().includes('install ok installed');
    } catch {
      return true;
    }
  });
}

export async function installHostPackages(missing: string[], update: (detail: string) => void): Promise<void> {
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  await runCommand('apt-get', ['update', '-q'], { env, onLine: update });
  await runCommand(
    'apt-get',
    ['install', '-y', '-q', '--no-install-recommends', '-o', 'DPkg::Lock::Timeout=600', ...missing],
    { env, onLine: update },
  );
}
