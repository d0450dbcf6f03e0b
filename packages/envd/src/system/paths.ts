/**
 * Path resolution for RPCs and /files (e2b-protocol §3.1): empty → the workdir, `~` → the home,
 * relative → joined onto the home, absolute → as is. Responses always carry absolute paths.
 */
import path from 'node:path';
import { SandboxdError } from '@sandboxd/common';
import type { SandboxUser } from './users.js';

export function resolveUserPath(raw: string, user: SandboxUser, defaultWorkdir?: string): string {
  if (raw === '') return path.resolve(defaultWorkdir ?? user.home);
  if (raw === '~') return path.resolve(user.home);
  if (raw.startsWith('~/')) return path.resolve(user.home, raw.slice(2));
  // `~other` would need another user's home; envd rejects it rather than guess.
  if (raw.startsWith('~')) throw new SandboxdError('INVALID_REQUEST', `path '${raw}' is not supported: ~user`);
  return path.resolve(user.home, raw);
}
