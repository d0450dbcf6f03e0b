/**
 * envd REST wire: catalog kind → HTTP status, and E2B's error body `{code, message}` (§3.2).
 * Anything that is not a SandboxdError becomes a logged 500 with no internals in the body.
 */
import type { ServerResponse } from 'node:http';
import { httpStatusForKind, type Logger, SandboxdError } from '@sandboxd/common';

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

export function sendError(res: ServerResponse, err: unknown, log: Logger): void {
  const known = SandboxdError.is(err) ? err : undefined;
  const status = known ? httpStatusForKind(known.kind) : 500;
  if (!known || known.kind === 'internal') log.error('request failed', { err });
  const message = known && known.kind !== 'internal' ? known.message : 'internal error';
  if (res.headersSent) {
    // Too late for a status: cut the connection so the client sees a broken body, not a short one.
    res.destroy();
    return;
  }
  sendJson(res, status, { code: status, message });
}
