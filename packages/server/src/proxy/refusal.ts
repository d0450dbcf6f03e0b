import type http from 'node:http';
import type { Duplex } from 'node:stream';
import { httpStatusForKind, type SandboxdError } from '@sandboxd/common';

/** A catalog error for a sandbox request the proxy will not serve, in E2B's body shape. */
export function sendRefusal(res: http.ServerResponse, err: SandboxdError): void {
  const status = httpStatusForKind(err.kind);
  const body = JSON.stringify({ code: status, message: err.message });
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** The same for an upgrade request, written on the raw socket. */
export function refuseUpgrade(socket: Duplex, err: SandboxdError): void {
  const status = httpStatusForKind(err.kind);
  const body = JSON.stringify({ code: status, message: err.message });
  socket.end(
    `HTTP/1.1 ${status} Refused\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}
