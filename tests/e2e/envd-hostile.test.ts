/**
 * Hostile input to envd, as a tenant could send it through the proxy: NUL bytes, huge paths,
 * invalid UTF-8, pseudo-files, FIFOs, mount points, renames over directories, bad ranges and
 * encodings, broken bodies, impossible commands. Every case answers a clear 4xx (or a Connect
 * code that is not `internal`), never a 500, and envd keeps serving afterwards. The removals of
 * `/` and mount points run only here, inside a real sandbox: envd must refuse them before it
 * deletes anything.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { needsSandboxHost } from '@sandboxd/runtime/testing';
import { callStream, END_STREAM } from '../../packages/envd/src/testing/connect-wire.js';
import { useEnvdFixture } from '../support/envd-fixture.js';

interface RestCase {
  name: string;
  method?: string;
  /** Query string of /files (already encoded). */
  query: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
  status: number;
}

interface RpcCase {
  name: string;
  /** `filesystem.Filesystem/Remove`, … */
  method: string;
  body: unknown;
  headers?: Record<string, string>;
  /** The Connect code; `end:<n>` for a Start that runs and ends with a non-zero exit instead. */
  code: string | string[];
}

const FIFO = '/tmp/hostile/fifo';
const longPath = `/tmp/${'x'.repeat(5000)}`;

const restCases: RestCase[] = [
  { name: 'NUL byte in a download path', query: 'path=/tmp/a%00b', status: 400 },
  { name: 'path past PATH_MAX', query: `path=${longPath}`, status: 400 },
  { name: 'a name past NAME_MAX', query: `path=/tmp/${'n'.repeat(300)}`, status: 400 },
  { name: 'invalid UTF-8 in a path', query: 'path=/tmp/%FF%FE', status: 404 },
  { name: '/proc/self/mem (EIO on read)', query: 'path=/proc/self/mem', status: 400 },
  { name: 'a FIFO without a writer', query: `path=${FIFO}`, status: 400 },
  { name: '/dev/zero (endless)', query: 'path=/dev/zero', status: 400 },
  { name: 'a directory', query: 'path=/tmp', status: 400 },
  { name: 'range past the end', query: 'path=/etc/hostname', headers: { range: 'bytes=999999-' }, status: 416 },
  { name: 'garbage range is ignored', query: 'path=/etc/hostname', headers: { range: 'bytes=abc' }, status: 200 },
  { name: 'reversed range is ignored', query: 'path=/etc/hostname', headers: { range: 'bytes=5-2' }, status: 200 },
  { name: 'zero-length suffix range', query: 'path=/etc/hostname', headers: { range: 'bytes=-0' }, status: 416 },
  {
    name: 'no acceptable encoding',
    query: 'path=/etc/hostname',
    headers: { 'accept-encoding': 'br, identity;q=0' },
    status: 406,
  },
  { name: 'unknown user', query: 'path=/etc/hostname&username=nobody-here', status: 401 },
  {
    name: 'upload: gzip body that is not gzip',
    method: 'POST',
    query: 'path=/tmp/hostile/gz.txt',
    headers: { 'content-type': 'application/octet-stream', 'content-encoding': 'gzip' },
    body: 'definitely not gzip',
    status: 400,
  },
  {
    name: 'upload: truncated gzip body',
    method: 'POST',
    query: 'path=/tmp/hostile/gz2.txt',
    headers: { 'content-type': 'application/octet-stream', 'content-encoding': 'gzip' },
    body: gzipSync('some text that compresses').subarray(0, 12),
    status: 400,
  },
  {
    name: 'upload: unknown content encoding',
    method: 'POST',
    query: 'path=/tmp/hostile/br.txt',
    headers: { 'content-type': 'application/octet-stream', 'content-encoding': 'br' },
    body: 'x',
    status: 400,
  },
  {
    name: 'upload: multipart with the wrong boundary',
    method: 'POST',
    query: 'path=/tmp/hostile/mp.txt',
    headers: { 'content-type': 'multipart/form-data; boundary=abc' },
    body: '--xyz\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n\r\nhi\r\n--xyz--\r\n',
    status: 400,
  },
  {
    name: 'upload: multipart without a boundary',
    method: 'POST',
    query: 'path=/tmp/hostile/mp.txt',
    headers: { 'content-type': 'multipart/form-data' },
    body: 'x',
    status: 400,
  },
  {
    name: 'upload: unsupported content type',
    method: 'POST',
    query: 'path=/tmp/hostile/t.txt',
    headers: { 'content-type': 'text/plain' },
    body: 'x',
    status: 400,
  },
  {
    name: 'upload: into a FIFO',
    method: 'POST',
    query: `path=${FIFO}`,
    headers: { 'content-type': 'application/octet-stream' },
    body: 'x',
    status: 400,
  },
  {
    name: 'upload: onto a directory',
    method: 'POST',
    query: 'path=/tmp',
    headers: { 'content-type': 'application/octet-stream' },
    body: 'x',
    status: 400,
  },
  {
    name: 'upload: below a file',
    method: 'POST',
    query: 'path=/etc/hostname/child',
    headers: { 'content-type': 'application/octet-stream' },
    body: 'x',
    status: 400,
  },
  {
    name: 'upload: NUL byte in the path',
    method: 'POST',
    query: 'path=/tmp/a%00b',
    headers: { 'content-type': 'application/octet-stream' },
    body: 'x',
    status: 400,
  },
  {
    name: 'upload: onto envd itself (read-only bind mount)',
    method: 'POST',
    query: 'path=/opt/sandboxd/envd.mjs',
    headers: { 'content-type': 'application/octet-stream' },
    body: 'x',
    status: 403,
  },
  { name: 'PUT /files', method: 'PUT', query: 'path=/tmp/x', body: 'x', status: 405 },
];

const rpcCases: RpcCase[] = [
  {
    // Across filesystems a move copies: fs.cp refuses a directory onto a device file (found by tests/fuzz).
    name: 'move a directory onto /dev/zero',
    method: 'filesystem.Filesystem/Move',
    body: { source: '/tmp/hostile', destination: '/dev/zero' },
    code: 'invalid_argument',
  },
  { name: 'remove /', method: 'filesystem.Filesystem/Remove', body: { path: '/' }, code: 'failed_precondition' },
  {
    name: 'remove /proc',
    method: 'filesystem.Filesystem/Remove',
    body: { path: '/proc' },
    code: 'failed_precondition',
  },
  {
    name: 'remove /opt (holds bind mounts)',
    method: 'filesystem.Filesystem/Remove',
    body: { path: '/opt' },
    code: 'failed_precondition',
  },
  {
    name: 'remove a bind-mounted file',
    method: 'filesystem.Filesystem/Remove',
    body: { path: '/opt/sandboxd/envd.mjs' },
    code: 'failed_precondition',
  },
  {
    name: 'remove / through a symlink to it',
    method: 'filesystem.Filesystem/Remove',
    body: { path: '/tmp/hostile/root-link/opt' },
    code: 'failed_precondition',
  },
  {
    name: 'remove with a NUL byte',
    method: 'filesystem.Filesystem/Remove',
    body: { path: '/tmp/a\u0000b' },
    code: 'invalid_argument',
  },
  {
    name: 'move /proc',
    method: 'filesystem.Filesystem/Move',
    body: { source: '/proc', destination: '/tmp/hostile/proc' },
    code: 'failed_precondition',
  },
  {
    name: 'move a dir over a non-empty dir',
    method: 'filesystem.Filesystem/Move',
    body: { source: '/tmp/hostile/a', destination: '/tmp/hostile/b' },
    code: 'invalid_argument',
  },
  {
    name: 'move a dir into itself',
    method: 'filesystem.Filesystem/Move',
    body: { source: '/tmp/hostile/a', destination: '/tmp/hostile/a/inside' },
    code: 'invalid_argument',
  },
  {
    name: 'move a file over a dir',
    method: 'filesystem.Filesystem/Move',
    body: { source: '/tmp/hostile/file', destination: '/tmp/hostile/b' },
    code: 'invalid_argument',
  },
  {
    name: 'move a dir over a file',
    method: 'filesystem.Filesystem/Move',
    body: { source: '/tmp/hostile/a', destination: '/tmp/hostile/file' },
    code: 'invalid_argument',
  },
  {
    name: 'make a dir in /proc',
    method: 'filesystem.Filesystem/MakeDir',
    body: { path: '/proc/x' },
    code: ['not_found', 'permission_denied'],
  },
  {
    name: 'make a dir in /sys',
    method: 'filesystem.Filesystem/MakeDir',
    body: { path: '/sys/x' },
    code: 'permission_denied',
  },
  {
    name: 'make a dir with a NUL byte',
    method: 'filesystem.Filesystem/MakeDir',
    body: { path: 'a\u0000' },
    code: 'invalid_argument',
  },
  {
    name: 'stat a path past PATH_MAX',
    method: 'filesystem.Filesystem/Stat',
    body: { path: longPath },
    code: 'invalid_argument',
  },
  {
    name: 'list a file',
    method: 'filesystem.Filesystem/ListDir',
    body: { path: '/etc/hostname' },
    code: 'invalid_argument',
  },
  {
    name: 'poll an unknown watcher',
    method: 'filesystem.Filesystem/GetWatcherEvents',
    body: { watcherId: 'nope' },
    code: 'not_found',
  },
  {
    name: 'watch a file (polling)',
    method: 'filesystem.Filesystem/CreateWatcher',
    body: { path: '/etc/hostname' },
    code: 'invalid_argument',
  },
  {
    name: 'a user that does not exist',
    method: 'filesystem.Filesystem/Stat',
    body: { path: '/' },
    headers: { authorization: `Basic ${Buffer.from('ghost:').toString('base64')}` },
    code: 'unauthenticated',
  },
  {
    name: 'an unsupported signal',
    method: 'process.Process/SendSignal',
    body: { process: { pid: 1 }, signal: 'SIGNAL_UNSPECIFIED' },
    code: ['invalid_argument', 'not_found'],
  },
  {
    name: 'signal an unknown pid',
    method: 'process.Process/SendSignal',
    body: { process: { pid: 999999 }, signal: 'SIGNAL_SIGKILL' },
    code: 'not_found',
  },
  {
    name: 'input without a selector',
    method: 'process.Process/SendInput',
    body: { input: { stdin: 'aGk=' } },
    code: 'invalid_argument',
  },
];

const startCases: RpcCase[] = [
  {
    name: 'cmd with a NUL byte',
    method: 'Start',
    body: { process: { cmd: '/bin/echo\u0000x' } },
    code: 'invalid_argument',
  },
  {
    name: 'arg with a NUL byte',
    method: 'Start',
    body: { process: { cmd: '/bin/echo', args: ['a\u0000b'] } },
    code: 'invalid_argument',
  },
  {
    name: 'env name with =',
    method: 'Start',
    body: { process: { cmd: '/bin/true', envs: { 'A=B': 'c' } } },
    code: 'invalid_argument',
  },
  {
    name: 'an argument of 200 KiB',
    method: 'Start',
    body: { process: { cmd: '/bin/true', args: ['y'.repeat(200 * 1024)] } },
    code: 'invalid_argument',
  },
  {
    name: 'a cwd that does not exist',
    method: 'Start',
    body: { process: { cmd: '/bin/true', cwd: '/nope' } },
    code: 'invalid_argument',
  },
  { name: 'an empty cmd', method: 'Start', body: { process: { cmd: '' } }, code: 'invalid_argument' },
  {
    name: 'a program that does not exist',
    method: 'Start',
    body: { process: { cmd: '/no/such/program' } },
    code: ['invalid_argument', 'end:127'],
  },
  {
    name: 'a pty of 0 columns',
    method: 'Start',
    body: { process: { cmd: '/bin/true' }, pty: { size: { cols: 0, rows: 10 } } },
    code: 'invalid_argument',
  },
  { name: 'connect without a selector', method: 'Connect', body: {}, code: 'invalid_argument' },
  { name: 'connect to an unknown tag', method: 'Connect', body: { process: { tag: 'nope' } }, code: 'not_found' },
];

describe('envd answers hostile input with clear 4xx, never 500', needsSandboxHost, () => {
  const f = useEnvdFixture();
  before(async () => {
    await f.sbx.commands.run(
      `mkdir -p /tmp/hostile/a/sub /tmp/hostile/b/sub && mkfifo ${FIFO} && echo x > /tmp/hostile/file && ln -s / /tmp/hostile/root-link`,
      { user: 'root' },
    );
  });

  for (const c of restCases) {
    test(`/files: ${c.name} → ${c.status}`, async () => {
      const res = await fetch(`${f.server.url}/files?${c.query}`, {
        method: c.method ?? 'GET',
        headers: { ...f.headers, ...c.headers },
        ...(c.body === undefined ? {} : { body: c.body }),
      });
      const text = await res.text();
      assert.equal(res.status, c.status, text);
      if (res.status >= 400) {
        const body = JSON.parse(text) as { code: number; message: string };
        assert.equal(body.code, c.status);
        assert.ok(body.message.length > 0);
      }
    });
  }

  for (const c of rpcCases) {
    test(`rpc ${c.method}: ${c.name} → ${c.code}`, async () => {
      const res = await fetch(`${f.server.url}/${c.method}`, {
        method: 'POST',
        headers: { ...f.headers, 'content-type': 'application/json', 'connect-protocol-version': '1', ...c.headers },
        body: JSON.stringify(c.body),
      });
      const body = (await res.json()) as { code?: string; message?: string };
      assert.ok([c.code].flat().includes(body.code ?? ''), `${res.status} ${JSON.stringify(body)}`);
      assert.ok(body.message);
    });
  }

  for (const c of startCases) {
    test(`stream process.Process/${c.method}: ${c.name} → ${c.code}`, async () => {
      const { messages } = await callStream(`${f.server.url}/process.Process/${c.method}`, c.body, {
        ...f.headers,
        'connect-timeout-ms': '20000',
      });
      const last = messages.at(-1);
      assert.equal(last?.flags, END_STREAM);
      const error = last?.json.error as { code?: string } | undefined;
      const end = messages.find((m) => m.flags !== END_STREAM && (m.json.event as { end?: unknown })?.end);
      const exitCode = (end?.json.event as { end?: { exitCode?: number } } | undefined)?.end?.exitCode ?? 0;
      const outcome = error?.code ?? `end:${exitCode}`;
      assert.ok([c.code].flat().includes(outcome), JSON.stringify(messages));
    });
  }

  test('a malformed JSON body, invalid UTF-8 and an unknown method are 4xx too', async () => {
    const rpcHeaders = { ...f.headers, 'content-type': 'application/json', 'connect-protocol-version': '1' };
    const malformed = await fetch(`${f.server.url}/filesystem.Filesystem/Stat`, {
      method: 'POST',
      headers: rpcHeaders,
      body: '{"path":',
    });
    assert.equal(malformed.status, 400);
    const wrongType = await fetch(`${f.server.url}/filesystem.Filesystem/Stat`, {
      method: 'POST',
      headers: rpcHeaders,
      body: '{"path":42}',
    });
    assert.equal(wrongType.status, 400);
    // Invalid UTF-8 inside a JSON string: decoded with replacement characters, a path that is not there.
    const badUtf8 = Buffer.concat([Buffer.from('{"path":"/tmp/'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]);
    const invalid = await fetch(`${f.server.url}/filesystem.Filesystem/Stat`, {
      method: 'POST',
      headers: rpcHeaders,
      body: badUtf8,
    });
    assert.equal(invalid.status, 404);
    const unknown = await fetch(`${f.server.url}/filesystem.Filesystem/Format`, {
      method: 'POST',
      headers: rpcHeaders,
      body: '{}',
    });
    assert.equal(unknown.status, 404);
  });

  test('afterwards: nothing was deleted and envd still serves', async () => {
    const r = await f.sbx.commands.run(
      'ls /opt/sandboxd/envd.mjs /etc/hostname /tmp/hostile/a/sub /tmp/hostile/b/sub && cat /proc/1/comm',
      {
        user: 'root',
      },
    );
    assert.match(r.stdout, /envd\.mjs/);
    assert.equal((await fetch(`${f.server.url}/health`, { headers: f.headers })).status, 204);
  });
});
