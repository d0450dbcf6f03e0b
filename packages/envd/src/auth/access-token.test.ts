/** The access token over the wire (X-Access-Token, signed URLs), with the official SDK as the client. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AuthenticationError } from 'e2b';
import { needsRoot, startEnvd, startSandbox } from '../testing/envd-harness.js';

const token = 'secret-token-1234';

test('with a token configured, the SDK holding it can run commands and move files', needsRoot, async (t) => {
  const { sandbox, envd } = await startSandbox(t, { accessToken: token });
  assert.equal((await sandbox.commands.run('echo ok')).stdout, 'ok\n');
  await sandbox.files.write(`${envd.workdir}/t.txt`, 'x');
  assert.equal(await sandbox.files.read(`${envd.workdir}/t.txt`), 'x');
  const health = await fetch(`${envd.url}/health`);
  assert.equal(health.status, 204, '/health needs no token');
});

test('a wrong token is AuthenticationError for RPCs and /files alike', needsRoot, async (t) => {
  const { sandbox, envd } = await startSandbox(t, { accessToken: token, sdkAccessToken: 'wrong' });
  await assert.rejects(sandbox.commands.run('echo never'), AuthenticationError);
  await assert.rejects(sandbox.files.read(`${envd.workdir}/t.txt`), AuthenticationError);
  await assert.rejects(sandbox.files.write(`${envd.workdir}/t.txt`, 'x'), AuthenticationError);
  const bare = await fetch(`${envd.url}/process.Process/List`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'connect-protocol-version': '1' },
    body: '{}',
  });
  assert.equal(bare.status, 401);
  assert.equal(((await bare.json()) as { code: string }).code, 'unauthenticated');
});

test('signed URLs: download and upload without headers; expired and tampered are 401', needsRoot, async (t) => {
  const { sandbox, envd } = await startSandbox(t, { accessToken: token });
  const file = `${envd.workdir}/signed.txt`;
  const upload = await sandbox.uploadUrl(file);
  const form = new FormData();
  form.append('file', new Blob(['signed body']), file);
  assert.equal((await fetch(upload, { method: 'POST', body: form })).status, 200);

  const download = await sandbox.downloadUrl(file, { useSignatureExpiration: 60 });
  assert.equal(await (await fetch(download)).text(), 'signed body');

  const expired = await fetch(await sandbox.downloadUrl(file, { useSignatureExpiration: -10 }));
  assert.equal(expired.status, 401);
  assert.equal(await expired.text(), '{"code":401,"message":"signature is already expired"}');

  const tampered = new URL(download);
  tampered.searchParams.set('path', `${envd.workdir}/other.txt`);
  const denied = await fetch(tampered);
  assert.equal(denied.status, 401);
  assert.deepEqual(await denied.json(), { code: 401, message: 'invalid signature' });

  const unsigned = await fetch(`${envd.url}/files?path=${encodeURIComponent(file)}`);
  assert.deepEqual(await unsigned.json(), { code: 401, message: 'missing signature query parameter' });
});

test('GET /envs answers the sandbox-wide env vars, behind the access token', needsRoot, async (t) => {
  const envd = await startEnvd(t, { accessToken: token, envVars: { A: '1', B: 'two' } });
  assert.equal((await fetch(`${envd.url}/envs`)).status, 401);
  const res = await fetch(`${envd.url}/envs`, { headers: { 'x-access-token': token } });
  assert.deepEqual(await res.json(), { A: '1', B: 'two' });
});
