/** GET/POST /files driven by the official e2b SDK (and raw fetch where the exact wire matters). */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { FileNotFoundError, InvalidArgumentError } from 'e2b';
import { needsRoot, startEnvd, startSandbox } from '../testing/envd-harness.js';

test('write and read text; the response names exactly name, path and type', needsRoot, async (t) => {
  const { sandbox, envd } = await startSandbox(t);
  const file = path.join(envd.workdir, 'hello.txt');
  const info = await sandbox.files.write(file, 'hello world');
  assert.deepEqual([info.name, info.path, info.type], ['hello.txt', file, 'file']);
  assert.equal(await sandbox.files.read(file), 'hello world');
  assert.equal(fs.statSync(file).mode & 0o777, 0o644);

  // The SDK hides extra keys, so check the body on the wire: one E2B test deep-equals it.
  const form = new FormData();
  form.append('file', new Blob(['again']), 'ignored-when-path-is-given');
  const res = await fetch(`${envd.url}/files?path=${encodeURIComponent(file)}`, { method: 'POST', body: form });
  assert.equal(await res.text(), JSON.stringify([{ name: 'hello.txt', path: file, type: 'file' }]));
  assert.equal(await sandbox.files.read(file), 'again');
});

test('an 8 MiB binary round-trips byte for byte', needsRoot, async (t) => {
  const { sandbox, envd } = await startSandbox(t);
  const file = path.join(envd.workdir, 'blob.bin');
  const data = randomBytes(8 * 1024 * 1024);
  await sandbox.files.write(file, data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
  const back = await sandbox.files.read(file, { format: 'bytes' });
  assert.equal(back.byteLength, data.byteLength);
  assert.ok(Buffer.from(back).equals(data));
});

test('multipart multi-file write creates nested parents', needsRoot, async (t) => {
  const { sandbox, envd } = await startSandbox(t);
  const nested = path.join(envd.workdir, 'a/b/c.txt');
  const flat = path.join(envd.workdir, 'd.txt');
  const infos = await sandbox.files.write([
    { path: nested, data: 'one' },
    { path: flat, data: 'two' },
  ]);
  assert.deepEqual(
    infos.map((i) => i.path),
    [nested, flat],
  );
  assert.equal(fs.readFileSync(nested, 'utf8'), 'one');
  assert.equal(fs.readFileSync(flat, 'utf8'), 'two');
  assert.equal(fs.statSync(path.join(envd.workdir, 'a/b')).mode & 0o777, 0o755);
});

test('octet-stream and gzip uploads', needsRoot, async (t) => {
  const { sandbox, envd } = await startSandbox(t);
  const plain = path.join(envd.workdir, 'plain.txt');
  const zipped = path.join(envd.workdir, 'x/zipped.txt');
  await sandbox.files.write(plain, 'octets', { useOctetStream: true });
  await sandbox.files.write(zipped, 'compressed '.repeat(1000), { gzip: true });
  assert.equal(fs.readFileSync(plain, 'utf8'), 'octets');
  assert.equal(fs.readFileSync(zipped, 'utf8'), 'compressed '.repeat(1000));

  const res = await fetch(`${envd.url}/files?path=${encodeURIComponent(plain)}`, {
    method: 'POST',
    headers: { 'content-type': 'application/octet-stream', 'content-encoding': 'gzip' },
    body: gzipSync('raw gzip'),
  });
  assert.deepEqual(await res.json(), [{ name: 'plain.txt', path: plain, type: 'file' }]);
  assert.equal(fs.readFileSync(plain, 'utf8'), 'raw gzip');
});

test('octet-stream without a path is a 400', needsRoot, async (t) => {
  const envd = await startEnvd(t);
  const res = await fetch(`${envd.url}/files`, {
    method: 'POST',
    headers: { 'content-type': 'application/octet-stream' },
    body: 'x',
  });
  assert.equal(res.status, 400);
  assert.equal(((await res.json()) as { code: number }).code, 400);
});

test('a missing file is FileNotFoundError; a directory is InvalidArgumentError', needsRoot, async (t) => {
  const { sandbox, envd } = await startSandbox(t);
  await assert.rejects(sandbox.files.read(path.join(envd.workdir, 'missing.txt')), FileNotFoundError);
  await assert.rejects(sandbox.files.read(envd.workdir), InvalidArgumentError);
});

test('writes as another user: file and created parents belong to that user', needsRoot, async (t) => {
  const { sandbox, envd } = await startSandbox(t);
  const file = path.join(envd.workdir, 'owned/deep/file.txt');
  await sandbox.files.write(file, 'mine', { user: 'nobody' as 'user' });
  assert.equal(fs.statSync(file).uid, 65534);
  assert.equal(fs.statSync(path.join(envd.workdir, 'owned')).uid, 65534);
  assert.equal(fs.statSync(envd.workdir).uid, 0);
  const err = await sandbox.files.read(file, { user: 'no-such-user' as 'user' }).catch((e: unknown) => e);
  assert.ok(err instanceof Error && err.name === 'AuthenticationError', String(err));
});

test('Range requests get 206 with the requested bytes', needsRoot, async (t) => {
  const envd = await startEnvd(t);
  const file = path.join(envd.workdir, 'range.txt');
  fs.writeFileSync(file, '0123456789');
  const res = await fetch(`${envd.url}/files?path=${encodeURIComponent(file)}`, { headers: { range: 'bytes=2-5' } });
  assert.equal(res.status, 206);
  assert.equal(res.headers.get('content-range'), 'bytes 2-5/10');
  assert.equal(await res.text(), '2345');
  const empty = path.join(envd.workdir, 'empty.txt');
  fs.writeFileSync(empty, '');
  const whole = await fetch(`${envd.url}/files?path=${encodeURIComponent(empty)}`);
  assert.equal(whole.status, 200);
  assert.equal(whole.headers.get('content-length'), '0');
});

test('the same destination twice in one multipart request is a 400', needsRoot, async (t) => {
  const envd = await startEnvd(t);
  const form = new FormData();
  const file = path.join(envd.workdir, 'dup.txt');
  form.append('file', new Blob(['a']), file);
  form.append('file', new Blob(['b']), file);
  const res = await fetch(`${envd.url}/files`, { method: 'POST', body: form });
  assert.equal(res.status, 400);
});

test(
  'metadata: X-Metadata-* become user.e2b.* xattrs; getInfo reads them; an overwrite replaces them',
  needsRoot,
  async (t) => {
    const { sandbox, envd } = await startSandbox(t);
    const file = path.join(envd.workdir, 'meta.txt');
    const written = await sandbox.files.write(file, 'm', { metadata: { Author: 'alice', purpose: 'test run' } });
    assert.deepEqual(written.metadata, { author: 'alice', purpose: 'test run' });
    assert.deepEqual((await sandbox.files.getInfo(file)).metadata, { author: 'alice', purpose: 'test run' });
    // Set from inside by another tool (E2B's test uses Python's os.setxattr).
    execFileSync('python3', ['-c', `import os; os.setxattr(${JSON.stringify(file)}, 'user.e2b.reviewer', b'bob')`]);
    assert.equal((await sandbox.files.getInfo(file)).metadata?.reviewer, 'bob');
    const listed = await sandbox.files.list(envd.workdir);
    assert.equal(listed.find((e) => e.name === 'meta.txt')?.metadata?.author, 'alice');
    const moved = await sandbox.files.rename(file, path.join(envd.workdir, 'moved.txt'));
    assert.equal(moved.metadata?.author, 'alice');
    const again = await sandbox.files.write(moved.path, 'overwritten');
    assert.equal(again.metadata, undefined);
    assert.equal((await sandbox.files.getInfo(moved.path)).metadata, undefined);
    const res = await fetch(`${envd.url}/files?path=${encodeURIComponent(moved.path)}`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream', 'x-metadata-big': 'x'.repeat(5000) },
      body: 'x',
    });
    assert.equal(res.status, 400);
  },
);

test('bad paths are 400 with a clear message: a name too long, a symlink loop', needsRoot, async (t) => {
  const { sandbox, envd } = await startSandbox(t);
  await assert.rejects(sandbox.files.write(path.join(envd.workdir, 'x'.repeat(300)), 'x'), /too long/);
  fs.symlinkSync('loop-b', path.join(envd.workdir, 'loop-a'));
  fs.symlinkSync('loop-a', path.join(envd.workdir, 'loop-b'));
  const err = await sandbox.files.read(path.join(envd.workdir, 'loop-a/file')).catch((e: unknown) => e);
  assert.ok(err instanceof InvalidArgumentError, String(err));
  assert.match(err.message, /symbolic links/);
});

test(
  'a plain form field (no filename) is the content of the file at the path query, signed or not',
  needsRoot,
  async (t) => {
    const { sandbox, envd } = await startSandbox(t, { accessToken: 'plain-field-token-0123456789' });
    const file = path.join(envd.workdir, 'field.txt');
    const form = new FormData();
    form.append('file', 'string data, sent as a field');
    const signed = await fetch(await sandbox.uploadUrl(file), { method: 'POST', body: form });
    assert.equal(signed.status, 200, await signed.clone().text());
    assert.deepEqual(await signed.json(), [{ name: 'field.txt', path: file, type: 'file' }]);
    assert.equal(fs.readFileSync(file, 'utf8'), 'string data, sent as a field');

    const headers = { 'x-access-token': 'plain-field-token-0123456789' };
    const unsigned = new FormData();
    unsigned.append('file', 'ünïcode too');
    const plain = await fetch(`${envd.url}/files?path=${encodeURIComponent(file)}`, {
      method: 'POST',
      body: unsigned,
      headers,
    });
    assert.equal(plain.status, 200);
    assert.equal(fs.readFileSync(file, 'utf8'), 'ünïcode too');

    // Without a path query there is no destination: a clear 400, not "no file parts".
    const nowhere = await fetch(`${envd.url}/files`, { method: 'POST', body: unsigned, headers });
    assert.equal(nowhere.status, 400);
    assert.match(((await nowhere.json()) as { message: string }).message, /path query/);
  },
);

test('a gzip upload that is not gzip is a 400, and envd lives on', needsRoot, async (t) => {
  const envd = await startEnvd(t);
  for (const body of [Buffer.from('definitely not gzip'), gzipSync('some text').subarray(0, 12)]) {
    const res = await fetch(`${envd.url}/files?path=${encodeURIComponent(path.join(envd.workdir, 'gz.txt'))}`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream', 'content-encoding': 'gzip' },
      body,
    });
    assert.equal(res.status, 400);
    assert.match(((await res.json()) as { message: string }).message, /gzip/);
  }
  assert.equal((await fetch(`${envd.url}/health`)).status, 204);
});
