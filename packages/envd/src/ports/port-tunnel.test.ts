/** envd's CONNECT tunnel to user ports: loopback only, refused while a warm sandbox is locked. */
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { needsRoot, startEnvd } from '../testing/envd-harness.js';

/** Sends a CONNECT and returns the status line, plus the socket for further traffic. */
function connectThrough(envdUrl: string, target: string): Promise<{ status: string; socket: net.Socket }> {
  const { hostname, port } = new URL(envdUrl);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname, () => {
      socket.write(`CONNECT ${target} HTTP/1.1\r\nhost: ${target}\r\n\r\n`);
    });
    let head = '';
    const onData = (chunk: Buffer) => {
      head += chunk.toString('latin1');
      const end = head.indexOf('\r\n\r\n');
      if (end === -1) return;
      socket.off('data', onData);
      const rest = head.slice(end + 4);
      if (rest) socket.unshift(Buffer.from(rest, 'latin1'));
      resolve({ status: head.slice(0, head.indexOf('\r\n')), socket });
    };
    socket.on('data', onData);
    socket.once('error', reject);
  });
}

test('CONNECT reaches a loopback listener and nothing else', needsRoot, async (t) => {
  const echo = net.createServer((s) => s.pipe(s));
  await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
  t.after(() => echo.close());
  const echoPort = (echo.address() as net.AddressInfo).port;
  const envd = await startEnvd(t);

  const open = await connectThrough(envd.url, `127.0.0.1:${echoPort}`);
  assert.equal(open.status, 'HTTP/1.1 200 Connection Established');
  open.socket.write('ping');
  const [reply] = (await Promise.race([
    new Promise((resolve) => open.socket.once('data', (d: Buffer) => resolve([d.toString()]))),
    new Promise((_, reject) => setTimeout(() => reject(new Error('no echo')), 5000)),
  ])) as [string];
  assert.equal(reply, 'ping');
  open.socket.destroy();

  for (const target of ['10.200.0.1:80', '192.0.2.1:80', 'example.com:443', `127.0.0.2:${echoPort}`, '127.0.0.1:0']) {
    const refused = await connectThrough(envd.url, target);
    assert.equal(refused.status, 'HTTP/1.1 400 Bad Request', target);
    refused.socket.destroy();
  }
  const closed = await connectThrough(envd.url, '127.0.0.1:1');
  assert.equal(closed.status, 'HTTP/1.1 502 Bad Gateway');
  closed.socket.destroy();
});

test('a warm-pool envd that nobody owns yet tunnels nowhere', needsRoot, async (t) => {
  const envd = await startEnvd(t, { initToken: 'x'.repeat(32) });
  const locked = await connectThrough(envd.url, '127.0.0.1:1');
  assert.equal(locked.status, 'HTTP/1.1 503 Service Unavailable');
  locked.socket.destroy();
});
