/**
 * envd REST wire: catalog kind → HTTP status, and E2B's error body `{code, message}` with `code`
 * equal to the status (the SDK branches on it). Every error envd answers over plain HTTP goes
 * through `sendError`; anything that is not a SandboxdError becomes a logged 500 with no
 * internals in the body.
 */
import type { ServerResponse } from 'node:http';
import { httpStatusForKind, type Logger, SandboxdError } from '@sandboxd/common';

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

/** The status and body a thrown value answers with. */
export function errorResponse(err: unknown): { status: number; body: { code: number; message: string } } {
  const known = SandboxdError.is(err) ? err : undefined;
  const status = known ? httpStatusForKind(known.kind) : 500;
  const message = known && known.kind !== 'internal' ? known.message : 'internal error';
  return { status, body: { code: status, message } };
}

export function sendError(res: ServerResponse, err: unknown, log: Logger, headers: Record<string, string> = {}): void {
  const known = SandboxdError.is(err) ? err : undefined;
  if (!known || known.kind === 'internal') log.error('request failed', { err: known?.cause ?? err });
  if (res.headersSent) {
    // Too late for a status: cut the connection so the client sees a broken body, not a short one.
    res.destroy();
    return;
  }
  const { status, body } = errorResponse(err);
  sendJson(res, status, body, headers);
}
