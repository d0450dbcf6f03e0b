import assert from 'node:assert/strict';
import type http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { test } from 'node:test';
import { closeHttpServer, createHttpFront } from './http-front.js';
import type { SandboxProxy } from './proxy/sandbox-proxy.js';

test('closeHttpServer resolves after the grace period even when Node never calls back', async () => {
  // What a connection count left above zero by proxied upgrades looks like: close() never calls back.
  let cutAll = false;
  const stuck = {
    close: () => stuck,
    closeIdleConnections: () => {},
    closeAllConnections: () => {
      cutAll = true;
    },
  } as unknown as http.Server;
  await closeHttpServer(stuck, 50);
  assert.equal(cutAll, true, 'busy connections were cut when the grace period ran out');
});

test('closeHttpServer resolves as soon as the server has closed', async () => {
  let cutAll = false;
  const closing = {
    close: (done: () => void) => setImmediate(done),
    closeIdleConnections: () => {},
    closeAllConnections: () => {
      cutAll = true;
    },
  } as unknown as http.Server;
  await closeHttpServer(closing, 60_000);
  assert.equal(cutAll, false);
});

test('an upgrade request for the API (no sandbox named) is answered 404 from the catalog, not dropped', async (t) => {
  const server = createHttpFront({
    api: (_req, res) => res.end(),
    proxy: { matchSignedFiles: () => undefined } as unknown as SandboxProxy,
    service: { route: () => undefined, wakeOnTraffic: async () => undefined },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => closeHttpServer(server, 100));
  const answer = await new Promise<string>((resolve, reject) => {
    const socket = net.connect((server.address() as AddressInfo).port, '127.0.0.1', () => {
      socket.write('GET /ws HTTP/1.1\r\nhost: localhost\r\nconnection: upgrade\r\nupgrade: websocket\r\n\r\n');
    });
    let text = '';
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString();
    });
    socket.once('error', reject);
    socket.once('close', () => resolve(text));
  });
  assert.match(answer, /^HTTP\/1\.1 404 /);
  assert.deepEqual(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)), {
    code: 404,
    message: 'no upgrade route for GET /ws',
  });
});
