/**
 * Path resolution for RPCs and /files: empty → the workdir, `~` → the home, relative → joined
 * onto the home, absolute → as is. Responses always carry absolute paths. A path the kernel
 * could never take (a NUL byte, longer than PATH_MAX) is refused here, before any syscall.
 */
import path from 'node:path';
import { SandboxdError } from '@sandboxd/common';
import type { SandboxUser } from './users.js';

/** Linux's PATH_MAX, including the terminating NUL. */
const PATH_MAX = 4096;

export function resolveUserPath(raw: string, user: SandboxUser, defaultWorkdir?: string): string {
  checkPathText(raw);
  let resolved: string;
  if (raw === '') resolved = path.resolve(defaultWorkdir ?? user.home);
  else if (raw === '~') resolved = path.resolve(user.home);
  else if (raw.startsWith('~/')) resolved = path.resolve(user.home, raw.slice(2));
  // `~other` would need another user's home; envd rejects it rather than guess.
  else if (raw.startsWith('~')) throw new SandboxdError('INVALID_REQUEST', `path '${raw}' is not supported: ~user`);
  else resolved = path.resolve(user.home, raw);
  checkPathText(resolved);
  return resolved;
}

function checkPathText(p: string): void {
  if (p.includes('\0')) throw new SandboxdError('INVALID_REQUEST', 'path contains a NUL byte');
  if (Buffer.byteLength(p) >= PATH_MAX) {
    throw new SandboxdError(
      'INVALID_REQUEST',
      `path is too long (${Buffer.byteLength(p)} bytes, the limit is ${PATH_MAX - 1})`,
    );
  }
}
