import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Sandbox } from 'e2b';
import { needsRoot, pointSdkAt, startEnvd, startFakeControlPlane } from '../testing/envd-harness.js';

const initToken = 'pool-secret-0123456789abcdef';

// Warm-pool hand-over: envd waits, serves nothing but /health and /init, then becomes its owner's.
test('a warm-pool envd serves nothing until a one-shot /init hands it over', needsRoot, async (t) => {
  const envd = await startEnvd(t, { initToken });
  assert.equal((await fetch(`${envd.url}/health`)).status, 204);
  const early = await fetch(`${envd.url}/files?path=/etc/hostname`);
  assert.equal(early.status, 503);
  assert.deepEqual(await early.json(), { code: 503, message: 'sandbox is not initialised yet' });
  const rpc = await fetch(`${envd.url}/process.Process/List`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{}',
  });
  assert.equal(rpc.status, 503, 'RPCs are refused before /init too');

  const init = (token: string, body: unknown) =>
    fetch(`${envd.url}/init`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-init-token': token },
      body: JSON.stringify(body),
    });
  assert.equal((await init('wrong-token-0000000000000', { envVars: {} })).status, 401);
  assert.equal((await init(initToken, { envVars: { FOO: 1 } })).status, 400);
  const accessToken = 'owner-token-abcdefghijklmnop';
  assert.equal((await init(initToken, { accessToken, envVars: { FOO: 'from-init' } })).status, 204);
  assert.equal((await init(initToken, { envVars: {} })).status, 404, '/init is one-shot');

  assert.equal((await fetch(`${envd.url}/files?path=/etc/hostname`)).status, 401, 'the owner token is now required');
  const apiUrl = await startFakeControlPlane(t, accessToken);
  pointSdkAt(envd, apiUrl);
  const sbx = await Sandbox.create();
  assert.equal((await sbx.commands.run('echo $FOO')).stdout, 'from-init\n');
});

// A sandbox restored from a ready snapshot bound for the warm pool: /init gives it its own id and a
// fresh init token, so it stays unowned, and the snapshot's token (held by every copy) is dead.
test('/init may rotate the init token and keep the sandbox unowned', needsRoot, async (t) => {
  const envd = await startEnvd(t, { initToken });
  const init = (token: string, body: unknown) =>
    fetch(`${envd.url}/init`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-init-token': token },
      body: JSON.stringify(body),
    });
  assert.equal((await init(initToken, { envVars: {}, initToken: 'short' })).status, 400);
  const fresh = 'fresh-pool-token-0123456789';
  assert.equal((await init(initToken, { sandboxId: 'restoredcopy1234', envVars: {}, initToken: fresh })).status, 204);
  assert.equal((await fetch(`${envd.url}/files?path=/etc/hostname`)).status, 503, 'still unowned');
  assert.equal((await init(initToken, { envVars: {} })).status, 401, "the snapshot's token is dead");
  const accessToken = 'owner-token-abcdefghijklmnop';
  assert.equal((await init(fresh, { accessToken, envVars: {} })).status, 204);
  assert.equal((await init(fresh, { envVars: {} })).status, 404, 'one-shot again');
  const owned = await fetch(`${envd.url}/envs`, { headers: { 'x-access-token': accessToken } });
  assert.equal(owned.status, 200);
});
