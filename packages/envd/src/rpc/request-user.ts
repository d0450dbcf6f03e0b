/**
 * The user an RPC acts as: `Authorization: Basic base64("<name>:")` (empty password), or
 * the configured default user. An unknown name is `unauthenticated`, as in E2B's envd.
 */
import { SandboxdError } from '@sandboxd/common';
import { lookupUser, type SandboxUser } from '../system/users.js';

export async function userFromAuthorization(header: string | null, defaultUser: string): Promise<SandboxUser> {
  if (!header) return lookupUser(defaultUser);
  const match = /^Basic\s+(\S+)$/i.exec(header.trim());
  if (!match?.[1]) throw new SandboxdError('UNKNOWN_USER', 'authorization header is not Basic');
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  const name = colon === -1 ? decoded : decoded.slice(0, colon);
  return lookupUser(name || defaultUser);
}
