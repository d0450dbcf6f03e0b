import { execFileSync } from 'node:child_process';
import { runCommand } from './run-command.js';

/**
 * Debian packages the runtime needs on the host: runc (containers), iptables (sandbox firewall
 * and, later, CRIU's network lock), debootstrap (templates), iproute2 (veth), e2fsprogs (disk
 * images), tini (PID 1 that reaps orphans), gcc + libc6-dev (our small idmapped-mount helper).
 */
export const hostPackages = ['runc', 'iptables', 'debootstrap', 'iproute2', 'e2fsprogs', 'tini', 'gcc', 'libc6-dev'];

export function missingHostPackages(): string[] {
  return hostPackages.filter((name) => {
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
