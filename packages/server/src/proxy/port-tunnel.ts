/**
 * The proxy's way to a user port: a `CONNECT 127.0.0.1:<port>` through the sandbox's envd (see
 * envd's ports/port-tunnel.ts), so programs listening only on the sandbox's loopback are
 * reachable too, as on E2B. `TunnelAgent` pools such tunnels like ordinary keep-alive sockets.
 */
import http from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';

const MAX_RESPONSE_HEAD = 4096;

export class PortClosedError extends Error {
  readonly code = 'EPORTCLOSED';
}

/** Opens a tunnel to `127.0.0.1:<port>` inside the sandbox at `address`. */
export function dialSandboxPort(
  address: string,
  envdPort: number,
  port: number,
  done: (err: Error | null, socket?: net.Socket) => void,
): void {
  const socket = net.connect(envdPort, address);
  let head = Buffer.alloc(0);
  let settled = false;
  const fail = (err: Error) => {
    socket.destroy();
    if (settled) return;
    settled = true;
    done(err);
  };
  const onData = (chunk: Buffer) => {
    head = Buffer.concat([head, chunk]);
    const end = head.indexOf('\r\n\r\n');
    if (end === -1) {
      if (head.length > MAX_RESPONSE_HEAD) fail(new Error('tunnel response head too long'));
      return;
    }
    socket.off('data', onData);
    socket.off('error', fail);
    socket.off('close', onClose);
    const status = head.subarray(0, head.indexOf('\r\n')).toString('latin1');
    if (!/^HTTP\/1\.[01] 200 /.test(status)) return fail(new PortClosedError(`port ${port} is not open`));
    const rest = head.subarray(end + 4);
    if (rest.length > 0) socket.unshift(rest);
    socket.setNoDelay(true);
    settled = true;
    done(null, socket);
  };
  const onClose = () => fail(new Error('envd closed the tunnel before answering'));
  socket.on('data', onData);
  socket.on('error', fail);
  socket.once('close', onClose);
  socket.once('connect', () => {
    socket.write(`CONNECT 127.0.0.1:${port} HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\n\r\n`);
  });
}

/** Keep-alive agent whose sockets are tunnels; `host`/`port` of each request name the sandbox and user port. */
export class TunnelAgent extends http.Agent {
  constructor(
    private readonly envdPort: number,
    options: http.AgentOptions,
  ) {
    super(options);
  }

  // Node's Agent calls createConnection(options, callback) and accepts the socket through the
  // callback when nothing is returned, which is how an asynchronous handshake fits in.
  override createConnection(
    options: http.ClientRequestArgs,
    callback?: (err: Error | null, stream: Duplex) => void,
  ): undefined {
    dialSandboxPort(String(options.host), this.envdPort, Number(options.port), (err, socket) => {
      // On an error Node's agent never looks at the stream argument.
      if (err || !socket) callback?.(err ?? new Error('tunnel failed'), undefined as unknown as Duplex);
      else callback?.(null, socket);
    });
    return undefined;
  }
}
