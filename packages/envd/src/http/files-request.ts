/**
 * What every /files request needs before touching the disk: authentication (token or signed URL),
 * the requesting user (`username` query, unknown → 401) and the raw `path` query.
 */
import type { IncomingMessage } from 'node:http';
import { SandboxdError } from '@sandboxd/common';
import { ACCESS_TOKEN_HEADER, type FileOperation } from '@sandboxd/protocol';
import { checkAccessToken } from '../auth/access-token.js';
import { verifyFileSignature } from '../auth/signature.js';
import type { EnvdConfig } from '../config.js';
import { lookupUser, type SandboxUser } from '../system/users.js';

export interface FilesRequest {
  user: SandboxUser;
  /** The `path` query exactly as sent, or undefined when absent. */
  rawPath: string | undefined;
  query: URLSearchParams;
}

export async function parseFilesRequest(
  req: IncomingMessage,
  query: URLSearchParams,
  operation: FileOperation,
  config: EnvdConfig,
): Promise<FilesRequest> {
  const username = query.get('username');
  const rawPath = query.get('path') ?? undefined;
  const token = checkAccessToken(req.headers[ACCESS_TOKEN_HEADER], config.accessToken);
  if (token === 'invalid') throw new SandboxdError('UNAUTHENTICATED', 'invalid access token');
  if (token === 'missing' && config.accessToken) {
    verifyFileSignature(
      { signature: query.get('signature'), expiration: query.get('signature_expiration') },
      { path: rawPath ?? '', operation, username: username ?? '', accessToken: config.accessToken },
    );
  }
  const user = await lookupUser(username || config.defaultUser);
  return { user, rawPath, query };
}
