/**
 * Runs around every RPC: checks the access token (`X-Access-Token`, when the sandbox has one) and
 * normalises errors thrown by handlers, for unary calls and for errors raised midway through a
 * server stream alike.
 */

import type { Interceptor } from '@connectrpc/connect';
import { type Logger, SandboxdError } from '@sandboxd/common';
import { ACCESS_TOKEN_HEADER } from '@sandboxd/protocol';
import { checkAccessToken } from '../auth/access-token.js';
import { toConnectError } from './errors.js';

/** `currentToken` is read per call: a warm-pool sandbox learns its token at `/init`. */
export function envdInterceptor(currentToken: () => string | undefined, log: Logger): Interceptor {
  return (next) => async (req) => {
    try {
      const token = checkAccessToken(req.header.get(ACCESS_TOKEN_HEADER) ?? undefined, currentToken());
      if (token === 'missing' || token === 'invalid') {
        throw new SandboxdError('UNAUTHENTICATED', 'unauthorized access, please retry with a valid access token');
      }
      const res = await next(req);
      if (!res.stream) return res;
      return { ...res, message: normaliseStreamErrors(res.message, log) };
    } catch (err) {
      throw toConnectError(err, log);
    }
  };
}

async function* normaliseStreamErrors<T>(messages: AsyncIterable<T>, log: Logger): AsyncIterable<T> {
  try {
    yield* messages;
  } catch (err) {
    throw toConnectError(err, log);
  }
}
