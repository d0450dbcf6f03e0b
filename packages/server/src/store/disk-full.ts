/**
 * Error codes that mean "no space left" where the server writes: SQLite's SQLITE_FULL (a write to
 * the database or its WAL found the disk full) and the file system's ENOSPC / EDQUOT.
 * Other I/O errors (SQLITE_IOERR_*, EIO) are faults of the host, not a lack of space, and stay internal.
 */
const diskFullCodes = new Set(['SQLITE_FULL', 'ENOSPC', 'EDQUOT']);

/** True when `err` or an error in its `cause` chain says the disk is full. */
export function isDiskFull(err: unknown): boolean {
  let current: unknown = err;
  for (let depth = 0; depth < 10 && current instanceof Error; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && diskFullCodes.has(code)) return true;
    current = current.cause;
  }
  return false;
}
