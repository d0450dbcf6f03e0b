import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { needsSandboxHost } from '@sandboxd/runtime/testing';
import { Sandbox } from 'e2b';
import { startTestServer, type TestServer } from '../support/server-harness.js';

/** A request to the server with an explicit Host header (`*.localhost` names do not resolve here). */
function getWithHost(serverUrl: string, host: string, pathname = '/'): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(serverUrl);
  return new Promise((resolve, reject) => {
    const req = http.get({ hostname, port, path: pathname, headers: { host } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
  });
}

// Issue #4: user ports through the proxy, secure sandboxes and signed URLs, official SDK.
describe('envd ports, access tokens and signed URLs through sandboxd', needsSandboxHost, () => {
  let server: TestServer;
  let sbx: Sandbox;
  before(async () => {
    server = await startTestServer({ env: { SANDBOXD_WARM_POOL: '1' } });
    server.useForE2b();
    sbx = await Sandbox.create();
  });
  after(async () => {
    await sbx?.kill().catch(() => {});
    await server?.stop();
  });

  test('a server on 127.0.0.1:PORT inside is reachable by E2b-Sandbox-Port and by getHost(port)', async () => {
    await sbx.files.write('/home/user/www/index.html', 'hello from port 8123');
    const web = await sbx.commands.run('python3 -m http.server 8123 --bind 127.0.0.1 --directory /home/user/www', {
      background: true,
      timeoutMs: 0,
    });
    const viaHeaders = async () =>
      fetch(`${server.url}/index.html`, {
        headers: { 'e2b-sandbox-id': sbx.sandboxId, 'e2b-sandbox-port': '8123' },
      });
    let res = await viaHeaders();
    for (let i = 0; i < 50 && res.status !== 200; i++) {
      await sleep(100);
      res = await viaHeaders();
    }
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'hello from port 8123');
    const host = sbx.getHost(8123);
    // The create response's `domain` (localhost:<bound port> by default) is what getHost uses.
    assert.equal(host, `8123-${sbx.sandboxId}.localhost:${new URL(server.url).port}`);
    const viaHost = await getWithHost(server.url, host, '/index.html');
    assert.deepEqual(viaHost, { status: 200, body: 'hello from port 8123' });
    // Many requests over the pooled tunnels, concurrently.
    const many = await Promise.all(Array.from({ length: 20 }, () => getWithHost(server.url, host, '/index.html')));
    assert.ok(many.every((r) => r.status === 200));
    await web.kill();
    const closed = await getWithHost(server.url, sbx.getHost(8124), '/');
    assert.equal(closed.status, 502);
    assert.match(JSON.parse(closed.body).message, /port 8124 is not open/);
  });

  test('upgrades (WebSocket-style) to a loopback port are tunnelled both ways', async () => {
    await sbx.files.write(
      '/home/user/upgrade.js',
      `require('http').createServer().on('upgrade', (req, socket) => {
        socket.write('HTTP/1.1 101 Switching Protocols\\r\\nupgrade: echo\\r\\nconnection: upgrade\\r\\n\\r\\n');
        socket.pipe(socket);
      }).listen(8200, '127.0.0.1');`,
    );
    const server8200 = await sbx.commands.run('node /home/user/upgrade.js', { background: true, timeoutMs: 0 });
    const { hostname, port } = new URL(server.url);
    const attempt = () =>
      new Promise<string>((resolve, reject) => {
        const socket = net.connect(Number(port), hostname, () => {
          socket.write(`GET / HTTP/1.1\r\nhost: ${sbx.getHost(8200)}\r\nconnection: upgrade\r\nupgrade: echo\r\n\r\n`);
        });
        let text = '';
        socket.on('data', (chunk: Buffer) => {
          text += chunk.toString();
          if (text.includes('\r\n\r\n') && !text.includes('marco')) socket.write('marco');
          if (text.includes('marco') || !text.startsWith('HTTP/1.1 101')) {
            socket.destroy();
            resolve(text);
          }
        });
        socket.once('error', reject);
        socket.once('close', () => resolve(text));
      });
    let answer = await attempt();
    for (let i = 0; i < 50 && !answer.startsWith('HTTP/1.1 101'); i++) {
      await sleep(100);
      answer = await attempt();
    }
    assert.match(answer, /^HTTP\/1\.1 101 /);
    assert.ok(answer.endsWith('marco'), answer);
    await server8200.kill();
  });

  test('secure sandbox: envd needs the access token; the SDK holding it works', async () => {
    const info = (await (await server.api('GET', `/sandboxes/${sbx.sandboxId}`)).json()) as {
      envdAccessToken?: string;
    };
    assert.ok(info.envdAccessToken, 'create returned an envdAccessToken');
    const list = (token?: string) =>
      fetch(`${server.url}/process.Process/List`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'connect-protocol-version': '1',
          'e2b-sandbox-id': sbx.sandboxId,
          'e2b-sandbox-port': '49983',
          ...(token ? { 'x-access-token': token } : {}),
        },
        body: '{}',
      });
    assert.equal((await list()).status, 401);
    assert.equal((await list('wrong-token')).status, 401);
    assert.equal((await list(info.envdAccessToken)).status, 200);
    assert.equal((await sbx.commands.run('echo ok')).stdout, 'ok\n');
  });

  test('an insecure sandbox (v1 create with secure:false) needs no token', async () => {
    const created = await server.api('POST', '/sandboxes', { templateID: 'base', secure: false });
    assert.equal(created.status, 201);
    const body = (await created.json()) as { sandboxID: string; envdAccessToken?: string };
    try {
      assert.equal(body.envdAccessToken, undefined);
      const res = await fetch(`${server.url}/process.Process/List`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'connect-protocol-version': '1',
          'e2b-sandbox-id': body.sandboxID,
        },
        body: '{}',
      });
      assert.equal(res.status, 200);
    } finally {
      await server.api('DELETE', `/sandboxes/${body.sandboxID}`);
    }
  });

  test('a v1 create that omits `secure` is secure: its envd refuses a request without the token', async () => {
    const created = await server.api('POST', '/sandboxes', { templateID: 'base' });
    assert.equal(created.status, 201);
    const body = (await created.json()) as { sandboxID: string; envdAccessToken?: string };
    try {
      assert.ok(body.envdAccessToken, 'v1 without `secure` returns an envd token (issue #12)');
      const list = (token?: string) =>
        fetch(`${server.url}/process.Process/List`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'connect-protocol-version': '1',
            'e2b-sandbox-id': body.sandboxID,
            ...(token ? { 'x-access-token': token } : {}),
          },
          body: '{}',
        });
      assert.equal((await list()).status, 401, 'knowing the id is not enough');
      assert.equal((await list(body.envdAccessToken)).status, 200);
    } finally {
      await server.api('DELETE', `/sandboxes/${body.sandboxID}`);
    }
  });

  test('signed upload and download URLs work from a plain fetch with no headers', async () => {
    const other = await Sandbox.create();
    try {
      const uploadUrl = await sbx.uploadUrl('signed/note.txt');
      assert.ok(uploadUrl.startsWith(server.url), uploadUrl);
      const form = new FormData();
      form.append('file', new Blob(['signed content']), 'signed/note.txt');
      const up = await fetch(uploadUrl, { method: 'POST', body: form });
      assert.equal(up.status, 200, await up.clone().text());
      assert.equal(await sbx.files.read('/home/user/signed/note.txt'), 'signed content');

      const downloadUrl = await sbx.downloadUrl('signed/note.txt', { useSignatureExpiration: 60 });
      const down = await fetch(downloadUrl);
      assert.equal(down.status, 200);
      assert.equal(await down.text(), 'signed content');
      // The other sandbox's URLs reach the other sandbox, not this one.
      await other.files.write('signed/note.txt', 'other sandbox');
      assert.equal(await (await fetch(await other.downloadUrl('signed/note.txt'))).text(), 'other sandbox');

      const expired = await fetch(await sbx.downloadUrl('signed/note.txt', { useSignatureExpiration: -5 }));
      assert.equal(expired.status, 401);
      assert.deepEqual(await expired.json(), { code: 401, message: 'signature is already expired' });
      const tampered = new URL(downloadUrl);
      tampered.searchParams.set('path', '/etc/passwd');
      const denied = await fetch(tampered);
      assert.notEqual(denied.status, 200, 'a tampered signature never reads a file');
    } finally {
      await other.kill();
    }
  });
  test('requests in flight when their sandbox is killed answer 502, the "not running" answer, not a reset', async () => {
    const doomed = await Sandbox.create();
    try {
      // A port that accepts requests and never answers: each one is mid-flight at the kill.
      await doomed.files.write(
        '/home/user/hold.js',
        `let n = 0; require('http').createServer(() => { n++; require('fs').writeFileSync('/home/user/held', String(n)); }).listen(8300, '127.0.0.1');`,
      );
      await doomed.commands.run('node /home/user/hold.js', { background: true, timeoutMs: 0 });
      const held = async () => (await doomed.commands.run('cat /home/user/held 2>/dev/null || echo 0')).stdout.trim();
      const headers = { 'e2b-sandbox-id': doomed.sandboxId, 'e2b-sandbox-port': '8300' };
      // Wait until the port listens (a closed port answers 502 at once, which would prove nothing).
      const probe = fetch(`${server.url}/probe`, { headers }).catch((err: Error) => err);
      for (let i = 0; i < 100 && (await held()) === '0'; i++) await sleep(100);
      const inFlight = Array.from({ length: 4 }, (_, i) =>
        fetch(`${server.url}/hold/${i}`, { headers }).then(
          async (res) => ({ status: res.status, body: await res.text() }),
          (err: Error) => err,
        ),
      );
      for (let i = 0; i < 100 && Number(await held()) < 3; i++) await sleep(100);
      assert.ok(Number(await held()) >= 3, 'requests reached the sandbox and wait there');
      await doomed.kill();
      for (const answer of await Promise.all([
        probe.then((r) => (r instanceof Error ? r : { status: r.status, body: '' })),
        ...inFlight,
      ])) {
        assert.ok(!(answer instanceof Error), `a request was cut instead of answered: ${answer}`);
        assert.equal(answer.status, 502);
      }
      const bodies = (await Promise.all(inFlight)) as { body: string }[];
      for (const { body } of bodies) assert.equal(JSON.parse(body).code, 502);
    } finally {
      await doomed.kill().catch(() => {});
    }
  });
});
