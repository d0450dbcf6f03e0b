/**
 * Is a path on a network filesystem? inotify sees only local changes there, so WatchDir refuses
 * such paths unless the client opts in with `allowNetworkMounts`, as E2B's envd does.
 */
import fs from 'node:fs/promises';

const networkTypes = new Set(['nfs', 'nfs4', 'cifs', 'smb3', 'smbfs', 'ncpfs', 'afs', '9p', 'fuse.sshfs', 'fuse.s3fs']);

export async function isOnNetworkMount(target: string): Promise<boolean> {
  const mounts = await fs.readFile('/proc/self/mounts', 'utf8').catch(() => '');
  let best = '';
  let bestType = '';
  for (const line of mounts.split('\n')) {
    const [, mountPoint, type] = line.split(' ');
    if (!mountPoint || !type) continue;
    const point = mountPoint.replace(/\\040/g, ' ');
    const covers = point === '/' || target === point || target.startsWith(`${point}/`);
    if (covers && point.length >= best.length) {
      best = point;
      bestType = type;
    }
  }
  return networkTypes.has(bestType);
}
