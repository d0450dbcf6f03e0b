/**
 * `CONNECT 127.0.0.1:<port>`: how the sandbox proxy reaches a program that listens only on the
 * sandbox's loopback (E2B exposes those at `<port>-<sandboxId>.<domain>` too). The proxy can only
 * reach envd's address on the veth; envd, inside the sandbox's network namespace, dials loopback
 * and splices the two sockets. Only loopback targets are accepted, so the tunnel reaches nothing
 * a process inside the sandbox could not reach itself. IPv6-only listeners (::1) are tried next.
 */
import type { IncomingMessage } from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';

const loopbackTarget = /^(?:127\.0\.0\.1|localhost|\[::1\]):(\d{1,5})$/;

export function handlePortTunnel(req: IncomingMessage, client: Duplex, head: Buffer, locked: boolean): void {
  const match = loopbackTarget.exec(req.url ?? '');
  const port = Number(match?.[1]);
  if (locked) {
    refuse(client, '503 Service Unavailable');
    return;
  }
  if (!match || !(port >= 1 && port <= 65535)) {
    refuse(client, '400 Bad Request');
    return;
  }
  client.on('error', () => client.destroy());
  dial(port, ['127.0.0.1', '::1'], (upstream) => {
    if (!upstream) {
      refuse(client, '502 Bad Gateway');
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

function refuse(client: Duplex, status: string): void {
  client.end(`HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
}
