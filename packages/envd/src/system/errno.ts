/**
 * Node's error codes (errno, zlib, argument checks) → catalog errors, in one place, so a failed
 * syscall is always a 4xx that names the path, never a bare 500. The path named in the message
 * is the resolved absolute path, which is what E2B's envd reports. Only what is left (a code
 * we have never seen) is INTERNAL.
 */
import { type ErrorCode, SandboxdError } from '@sandboxd/common';

const byCode: Record<string, [ErrorCode, (p: string) => string]> = {
  ENOENT: ['FILE_NOT_FOUND', (p) => `path '${p}' does not exist`],
  EEXIST: ['PATH_EXISTS', (p) => `path '${p}' already exists`],
  ENOTDIR: ['INVALID_REQUEST', (p) => `a parent of '${p}' is not a directory`],
  EISDIR: ['INVALID_REQUEST', (p) => `path '${p}' is a directory`],
  ENOTEMPTY: ['INVALID_REQUEST', (p) => `directory '${p}' is not empty`],
  ENAMETOOLONG: ['INVALID_REQUEST', (p) => `path '${p}' is too long`],
  ELOOP: ['INVALID_REQUEST', (p) => `too many levels of symbolic links in '${p}'`],
  EINVAL: ['INVALID_REQUEST', (p) => `invalid operation on '${p}'`],
  EXDEV: ['INVALID_REQUEST', (p) => `'${p}' is on another filesystem`],
  ENXIO: ['INVALID_REQUEST', (p) => `'${p}' is not a file that can be opened (no such device or address)`],
  ENODEV: ['INVALID_REQUEST', (p) => `'${p}' is not a file that can be opened (no such device)`],
  EIO: ['INVALID_REQUEST', (p) => `input/output error on '${p}' (a pseudo-file that refuses this operation?)`],
  ENOTSUP: ['INVALID_REQUEST', (p) => `operation not supported on '${p}'`],
  EOPNOTSUPP: ['INVALID_REQUEST', (p) => `operation not supported on '${p}'`],
  ESPIPE: ['INVALID_REQUEST', (p) => `'${p}' cannot be read at an offset`],
  E2BIG: ['INVALID_REQUEST', (p) => `arguments and environment for '${p}' are too long`],
  ERR_INVALID_ARG_VALUE: ['INVALID_REQUEST', (p) => `'${p}' is not a valid argument`],
  EBUSY: ['PATH_BUSY', (p) => `'${p}' is busy (a mount point or in use)`],
  ETXTBSY: ['PATH_BUSY', (p) => `'${p}' is a program that is running`],
  EFBIG: ['NOT_ENOUGH_SPACE', (p) => `'${p}' would exceed the maximum file size`],
  ENOSPC: ['NOT_ENOUGH_SPACE', (p) => `not enough disk space to write '${p}'`],
  EDQUOT: ['NOT_ENOUGH_SPACE', (p) => `not enough disk space to write '${p}'`],
  EACCES: ['PERMISSION_DENIED', (p) => `permission denied for '${p}'`],
  EPERM: ['PERMISSION_DENIED', (p) => `permission denied for '${p}'`],
  EROFS: ['PERMISSION_DENIED', (p) => `'${p}' is on a read-only filesystem`],
  // A gzip request body that is not gzip: zlib's codes.
  Z_DATA_ERROR: ['INVALID_REQUEST', () => 'the request body is not valid gzip'],
  Z_BUF_ERROR: ['INVALID_REQUEST', () => 'the request body is truncated gzip'],
  // fs.cp's own checks (a move across filesystems copies): what cannot be copied onto what.
  ERR_FS_CP_DIR_TO_NON_DIR: [
    'INVALID_REQUEST',
    (p) => `cannot replace '${p}', which is not a directory, with a directory`,
  ],
  ERR_FS_CP_NON_DIR_TO_DIR: ['INVALID_REQUEST', (p) => `cannot replace the directory '${p}' with a file`],
  ERR_FS_CP_EINVAL: ['INVALID_REQUEST', (p) => `cannot copy a directory into itself ('${p}')`],
  ERR_FS_CP_SYMLINK_TO_SUBDIRECTORY: [
    'INVALID_REQUEST',
    (p) => `cannot copy a symlink onto its own subdirectory ('${p}')`,
  ],
  ERR_FS_CP_FIFO_PIPE: ['INVALID_REQUEST', (p) => `cannot copy the named pipe '${p}'`],
  ERR_FS_CP_SOCKET: ['INVALID_REQUEST', (p) => `cannot copy the socket '${p}'`],
  ERR_FS_CP_UNKNOWN: ['INVALID_REQUEST', (p) => `cannot copy '${p}': not a regular file, directory or symlink`],
  ERR_FS_EISDIR: ['INVALID_REQUEST', (p) => `path '${p}' is a directory`],
  // The client went away mid-upload.
  ECONNRESET: ['INVALID_REQUEST', (p) => `the upload of '${p}' was cut off`],
  ERR_STREAM_PREMATURE_CLOSE: ['INVALID_REQUEST', (p) => `the upload of '${p}' was cut off`],
};

export function errnoToError(err: unknown, filePath: string): SandboxdError {
  if (SandboxdError.is(err)) return err;
  const code = (err as NodeJS.ErrnoException | undefined)?.code ?? '';
  const known = byCode[code];
  if (known) return new SandboxdError(known[0], known[1](filePath), { cause: err });
  return new SandboxdError('INTERNAL', `filesystem operation on '${filePath}' failed`, { cause: err });
}
