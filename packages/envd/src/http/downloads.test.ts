/**
 * GET /files beyond plain files: /proc files (stat says 0 bytes), files past the 1 MiB prefix
 * (streamed to their end), Range and HEAD, and the statuses a download can answer, each with the
 * catalog's `{code, message}` body.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { needsRoot, startEnvd, startSandbox } from '../testing/envd-harness.js';

test('files.read of /proc files returns their content, not the 0 bytes stat reports', needsRoot, async (t) => {
  const { sandbox } = await startSandbox(t);
  const status = await sandbox.files.read('/proc/self/status');
  assert.match(status, /^Name:/);
  assert.match(status, /\nPid:\s+\d+\n/);
  const cpuinfo = await sandbox.files.read('/proc/cpuinfo');
  assert.match(cpuinfo, /processor\s*:\s*0/);
});

test('raw /proc download: exact Content-Length of what was read', needsRoot, async (t) => {
  const envd = await startEnvd(t);
  const res = await fetch(`${envd.url}/files?path=/proc/self/cmdline`);
  assert.equal(res.status, 200);
  const body = Buffer.from(await res.arrayBuffer());
  assert.ok(body.length > 0);
  assert.equal(res.headers.get('content-length'), String(body.length));
  // A Range cannot be cut from a file whose size is unknown: the whole file, 200.
  const ranged = await fetch(`${envd.url}/files?path=/proc/self/cmdline`, { headers: { range: 'bytes=0-3' } });
  assert.equal(ranged.status, 200);
  assert.ok((await ranged.arrayBuffer()).byteLength > 0);
});

test('a sysfs file that stat calls 4096 bytes is served as the few bytes it holds', needsRoot, async (t) => {
  const file = '/sys/devices/system/cpu/online';
  if (!fs.existsSync(file)) return t.skip(`${file} does not exist here`);
  const envd = await startEnvd(t);
  const res = await fetch(`${envd.url}/files?path=${file}`);
  assert.equal(res.status, 200);
  const body = await res.text();
  assert.equal(body, fs.readFileSync(file, 'utf8'));
  assert.equal(res.headers.get('content-length'), String(Buffer.byteLength(body)));
});

test('a file past the first MiB is streamed whole; Range and HEAD keep exact lengths', needsRoot, async (t) => {
  const envd = await startEnvd(t);
  const file = path.join(envd.workdir, 'big.bin');
  const data = randomBytes(3 * 1024 * 1024 + 17);
  fs.writeFileSync(file, data);
  const url = `${envd.url}/files?path=${encodeURIComponent(file)}`;
  const whole = await fetch(url);
  assert.equal(whole.status, 200);
  assert.ok(Buffer.from(await whole.arrayBuffer()).equals(data));

  const tail = await fetch(url, { headers: { range: 'bytes=-17' } });
  assert.equal(tail.status, 206);
  assert.equal(tail.headers.get('content-length'), '17');
  assert.equal(tail.headers.get('content-range'), `bytes ${data.length - 17}-${data.length - 1}/${data.length}`);
  assert.ok(Buffer.from(await tail.arrayBuffer()).equals(data.subarray(-17)));

  const middle = await fetch(url, { headers: { range: 'bytes=1048570-1048580' } });
  assert.equal(middle.status, 206);
  assert.ok(Buffer.from(await middle.arrayBuffer()).equals(data.subarray(1048570, 1048581)));

  const small = path.join(envd.workdir, 'small.txt');
  fs.writeFileSync(small, 'twelve bytes');
  const head = await fetch(`${envd.url}/files?path=${encodeURIComponent(small)}`, { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.equal(head.headers.get('content-length'), '12');
});

test('406, 416, 405, 415 and 404 answer the catalog body', needsRoot, async (t) => {
  const envd = await startEnvd(t);
  const file = path.join(envd.workdir, 'ten.txt');
  fs.writeFileSync(file, '0123456789');
  const url = `${envd.url}/files?path=${encodeURIComponent(file)}`;

  const unacceptable = await fetch(url, { headers: { 'accept-encoding': 'br, identity;q=0' } });
  assert.equal(unacceptable.status, 406);
  assert.deepEqual(await unacceptable.json(), {
    code: 406,
    message: 'no acceptable encoding found, supported: [identity, gzip]',
  });

  const pastEnd = await fetch(url, { headers: { range: 'bytes=10-' } });
  assert.equal(pastEnd.status, 416);
  assert.equal(pastEnd.headers.get('content-range'), 'bytes */10');
  assert.deepEqual(await pastEnd.json(), { code: 416, message: 'requested range not satisfiable' });

  const put = await fetch(url, { method: 'PUT', body: 'x' });
  assert.equal(put.status, 405);
  assert.equal(put.headers.get('allow'), 'GET, HEAD, POST');
  assert.deepEqual(await put.json(), { code: 405, message: 'method PUT not allowed' });

  // What connect-es would answer bare (no body) comes from the catalog too.
  const rpcGet = await fetch(`${envd.url}/filesystem.Filesystem/Stat`);
  assert.equal(rpcGet.status, 405);
  assert.equal(rpcGet.headers.get('allow'), 'POST');
  assert.deepEqual(await rpcGet.json(), { code: 405, message: 'method GET not allowed' });
  const rpcText = await fetch(`${envd.url}/filesystem.Filesystem/Stat`, {
    method: 'POST',
    headers: { 'content-type': 'text/plain' },
    body: '{}',
  });
  assert.equal(rpcText.status, 415);
  assert.equal(((await rpcText.json()) as { code: number }).code, 415);

  const unknown = await fetch(`${envd.url}/no/such/route`);
  assert.equal(unknown.status, 404);
  assert.deepEqual(await unknown.json(), { code: 404, message: 'no route for GET /no/such/route' });
});
