import http from 'node:http';
import type { Duplex } from 'node:stream';
import { httpStatusForKind, SandboxdError } from '@sandboxd/common';

/** E2B's proxy body: the SDK's host check reads `sandboxId` in it, and `code` is the status. */
export interface ProxyErrorBody {
  message: string;
  sandboxId: string;
  port?: number;
  code: number;
}

/** Any thrown value → the proxy's status and body; statuses come from the catalog's kind table. */
export function toProxyError(err: unknown, sandboxId: string, port?: number): { status: number; body: ProxyErrorBody } {
  const known = SandboxdError.is(err) ? err : new SandboxdError('INTERNAL', undefined, { cause: err });
  const status = httpStatusForKind(known.kind);
  const message = known.kind === 'internal' ? 'internal error' : known.message;
  return { status, body: { message, sandboxId, ...(port === undefined ? {} : { port }), code: status } };
}

export function sendProxyError(res: http.ServerResponse, err: unknown, sandboxId: string, port?: number): void {
  const { status, body } = toProxyError(err, sandboxId, port);
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** The same answer on a raw socket (an upgrade request, before any tunnel exists), then closes it. */
export function endWithProxyError(socket: Duplex, err: unknown, sandboxId: string, port?: number): void {
  const { status, body } = toProxyError(err, sandboxId, port);
  endWithJson(socket, status, body);
}

/** A JSON answer written on a raw socket (no ServerResponse exists for an upgrade), then closed. */
export function endWithJson(socket: Duplex, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  socket.end(
    `HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? ''}\r\ncontent-type: application/json\r\n` +
      `content-length: ${Buffer.byteLength(text)}\r\nconnection: close\r\n\r\n${text}`,
  );
}
