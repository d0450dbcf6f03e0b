/**
 * `POST /init`: the one-shot hand-over of a warm-pool sandbox to its owner. The control plane
 * starts pool sandboxes ahead of demand with a random `initToken`; when a create claims one, it
 * sends the owner's access token and env vars here. Authenticated by `X-Init-Token` (constant
 * time), accepted once: afterwards the route answers 404 like any unknown path, and the token is
 * gone from memory. A sandbox restored from a ready snapshot is handed over the same way (its new
 * sandbox id with it); one bound for the warm pool gets a fresh init token instead of an owner,
 * so the snapshot's token is dead in every copy either way.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type Logger, SandboxdError } from '@sandboxd/common';
import { type EnvdInitRequest, INIT_TOKEN_HEADER } from '@sandboxd/protocol';
import { secretsEqual } from '../auth/access-token.js';
import type { EnvdConfig } from '../config.js';
import { sendError } from './errors.js';

const maxBodyBytes = 1024 * 1024;

export async function handleInit(
  req: IncomingMessage,
  res: ServerResponse,
  config: EnvdConfig,
  log: Logger,
): Promise<void> {
  const expected = config.initToken;
  if (req.method !== 'POST' || expected === undefined) {
    sendError(res, new SandboxdError('ROUTE_NOT_FOUND', 'not found'), log);
    return;
  }
  const given = req.headers[INIT_TOKEN_HEADER];
  if (typeof given !== 'string' || !secretsEqual(given, expected)) {
    sendError(res, new SandboxdError('UNAUTHENTICATED', 'invalid init token'), log);
    return;
  }
  let body: EnvdInitRequest;
  try {
    body = parseInit(await readBody(req));
  } catch (err) {
    const message = err instanceof Error ? err.message : 'invalid init request';
    sendError(res, new SandboxdError('INVALID_REQUEST', message, { cause: err }), log);
    return;
  }
  // A second /init racing this one must not win: clear the token before anything else.
  config.initToken = body.initToken;
  if (body.sandboxId) config.sandboxId = body.sandboxId;
  config.accessToken = body.accessToken;
  config.envVars = { ...body.envVars };
  res.writeHead(204).end();
}

function parseInit(text: string): EnvdInitRequest {
  const value = JSON.parse(text) as Partial<EnvdInitRequest>;
  if (typeof value !== 'object' || value === null) throw new Error('init body must be an object');
  if (value.accessToken !== undefined && typeof value.accessToken !== 'string') {
    throw new Error('accessToken must be a string');
  }
  const envVars = value.envVars ?? {};
  if (typeof envVars !== 'object' || envVars === null || Object.values(envVars).some((v) => typeof v !== 'string')) {
    throw new Error('envVars must map names to strings');
  }
  if (value.sandboxId !== undefined && typeof value.sandboxId !== 'string')
    throw new Error('sandboxId must be a string');
  if (value.initToken !== undefined && (typeof value.initToken !== 'string' || value.initToken.length < 16)) {
    throw new Error('initToken must be a string of at least 16 characters');
  }
  return {
    ...(value.sandboxId ? { sandboxId: value.sandboxId } : {}),
    ...(value.accessToken ? { accessToken: value.accessToken } : {}),
    envVars,
    ...(value.initToken ? { initToken: value.initToken } : {}),
  };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBodyBytes) {
        reject(new Error('init body too large'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
