import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Sandbox as CodeInterpreter } from '@e2b/code-interpreter';
import { Sandbox } from 'e2b';
import { runcContainers } from '../support/host-resources.js';
import { startTestServer } from '../support/server-harness.js';
import { needsTemplates } from '../support/template-requirements.js';
import { pooledIds, poolReady, servedWarm, until } from '../support/warm-pool-probes.js';

// Issue #10: the warm pool per template, with a built-in template whose start command (the
// execution server on 49999) must be ready before a pooled sandbox counts as ready.
test('@e2b/code-interpreter is handed a sandbox of the code-interpreter pool, base keeps its own', {
  ...(await needsTemplates('code-interpreter-v1')),
  timeout: 300_000,
}, async (t) => {
  // Named by its alias: the pool is the one of the template a create resolves to.
  const server = await startTestServer({ env: { SANDBOXD_WARM_POOL: 'base=1,code-interpreter=1' } });
  t.after(() => server.stop());
  server.useForE2b();
  await until(async () => {
    const ready = await poolReady(server);
    return ready.base === 1 && ready['code-interpreter-v1'] === 1;
  }, 180_000);
  const [pooled] = pooledIds(server.logs, 'code-interpreter-v1');

  const sbx = await CodeInterpreter.create({ envs: { OWNER: 'ci' } });
  t.after(() => sbx.kill().catch(() => {}));
  assert.equal(servedWarm(server.logs, sbx.sandboxId), true, 'served from a pool');
  assert.equal(sbx.sandboxId, pooled, "the code-interpreter pool's sandbox");
  const exec = await sbx.runCode('1+1');
  assert.equal(exec.text, '2', 'its execution server answers at once');
  assert.equal((await sbx.commands.run('echo $OWNER')).stdout, 'ci\n', 'the owner env vars reach it');
  assert.deepEqual(pooledIds(server.logs, 'base').length, 1, "base's pool gave nothing");

  await until(() => pooledIds(server.logs, 'code-interpreter-v1').length === 2, 180_000);
  const base = await Sandbox.create();
  t.after(() => base.kill().catch(() => {}));
  assert.equal(base.sandboxId, pooledIds(server.logs, 'base')[0], "base is served from base's pool");

  await Promise.all([sbx.kill(), base.kill()]);
  await server.halt('SIGTERM');
  assert.deepEqual(runcContainers(server.dataDir), [], "no pool's sandbox survives a clean shutdown");
});
