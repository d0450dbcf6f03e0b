/**
 * True while `pid` exists (signal 0 checks without sending anything). EPERM means it exists but
 * belongs to someone we may not signal: still alive.
 */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
