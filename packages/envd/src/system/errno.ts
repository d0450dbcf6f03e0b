/**
 * Node errno → catalog error, in one place (STYLE §3). The path named in the message is the
 * resolved absolute path, which is what E2B's envd reports.
 */
import { SandboxdError } from '@sandboxd/common';

export function errnoToError(err: unknown, filePath: string): SandboxdError {
  if (SandboxdError.is(err)) return err;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOENT':
      return new SandboxdError('FILE_NOT_FOUND', `path '${filePath}' does not exist`, { cause: err });
    case 'EEXIST':
      return new SandboxdError('PATH_EXISTS', `path '${filePath}' already exists`, { cause: err });
    case 'ENOTDIR':
      return new SandboxdError('INVALID_REQUEST', `a parent of '${filePath}' is not a directory`, { cause: err });
    case 'EISDIR':
      return new SandboxdError('INVALID_REQUEST', `path '${filePath}' is a directory`, { cause: err });
    case 'ENOTEMPTY':
      return new SandboxdError('INVALID_REQUEST', `directory '${filePath}' is not empty`, { cause: err });
    case 'ENAMETOOLONG':
      return new SandboxdError('INVALID_REQUEST', `path '${filePath}' is too long`, { cause: err });
    case 'ELOOP':
      return new SandboxdError('INVALID_REQUEST', `too many levels of symbolic links in '${filePath}'`, { cause: err });
    case 'EFBIG':
      return new SandboxdError('NOT_ENOUGH_SPACE', `'${filePath}' would exceed the maximum file size`, { cause: err });
    case 'EINVAL':
      return new SandboxdError('INVALID_REQUEST', `invalid operation on '${filePath}'`, { cause: err });
    case 'ENOSPC':
    case 'EDQUOT':
      return new SandboxdError('NOT_ENOUGH_SPACE', `not enough disk space to write '${filePath}'`, { cause: err });
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return new SandboxdError('PERMISSION_DENIED', `permission denied for '${filePath}'`, { cause: err });
    default:
      return new SandboxdError('INTERNAL', `filesystem operation on '${filePath}' failed`, { cause: err });
  }
}
