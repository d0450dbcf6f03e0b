/**
 * `CONNECT 127.0.0.1:<port>`: how the sandbox proxy reaches a program that listens only on the
 * sandbox's loopback (E2B exposes those at `<port>-<sandboxId>.<domain>` too). The proxy can only
 * reach envd's address on the veth; envd, inside the sandbox's network namespace, dials loopback
 * and splices the two sockets. Only loopback targets are accepted, so the tunnel reaches nothing
 * a process inside the sandbox could not reach itself. IPv6-only listeners (::1) are tried next.
 */
import { type IncomingMessage, STATUS_CODES } from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { SandboxdError } from '@sandboxd/common';
import { errorResponse } from '../http/errors.js';

const loopbackTarget = /^(?:127\.0\.0\.1|localhost|\[::1\]):(\d{1,5})$/;

export function handlePortTunnel(req: IncomingMessage, client: Duplex, head: Buffer, locked: boolean): void {
  const match = loopbackTarget.exec(req.url ?? '');
  const port = Number(match?.[1]);
  if (locked) {
    refuse(client, new SandboxdError('SANDBOX_NOT_INITIALISED'));
    return;
  }
  if (!match || !(port >= 1 && port <= 65535)) {
    refuse(client, new SandboxdError('INVALID_REQUEST', 'only 127.0.0.1:<port> (or [::1]) can be tunnelled'));
    return;
  }
  client.on('error', () => client.destroy());
  dial(port, ['127.0.0.1', '::1'], (upstream) => {
    if (!upstream) {
      refuse(client, new SandboxdError('PORT_UNREACHABLE', `nothing listens on port ${port} in the sandbox`));
      return;
    }
    client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    if (head.length > 0) upstream.write(head);
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.on('close', () => upstream.destroy());
    client.pipe(upstream).pipe(client);
  });
}

function dial(port: number, hosts: string[], done: (socket: net.Socket | undefined) => void): void {
  const [host, ...rest] = hosts;
  if (host === undefined) {
    done(undefined);
    return;
  }
  const socket = net.connect({ port, host });
  socket.once('connect', () => {
    socket.removeAllListeners('error');
    socket.setNoDelay(true);
    done(socket);
  });
  socket.once('error', () => {
    socket.destroy();
    dial(port, rest, done);
  });
}

/** A CONNECT is answered on the raw socket: the status line and JSON body of the catalog error. */
function refuse(client: Duplex, err: SandboxdError): void {
  const { status, body } = errorResponse(err);
  const text = JSON.stringify(body);
  client.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nconnection: close\r\ncontent-type: application/json\r\n` +
      `content-length: ${Buffer.byteLength(text)}\r\n\r\n${text}`,
  );
}
