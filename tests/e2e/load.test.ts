import assert from 'node:assert/strict';
import { test } from 'node:test';
import { needsSandboxHost } from '@sandboxd/runtime/testing';
import { latencyTable, leakCount, runLoad } from '../../bench/load.js';
import { startTestServer } from '../support/server-harness.js';

// A bounded load run in CI (`npm run soak` is the long one: 200 clients for 5 minutes): 40
// concurrent clients creating, using and killing sandboxes for 20 s, with a concurrent limit of
// 20 so that the overload path (429, retried by the SDK) is taken too. Nothing may fail but with
// a 429, and nothing may be left on the host.
test('40 concurrent clients for 20 s: no error but 429s, nothing leaked', {
  ...needsSandboxHost,
  timeout: 600_000,
}, async (t) => {
  const server = await startTestServer({
    env: { SANDBOXD_WARM_POOL: '0', SANDBOXD_MAX_CONCURRENT_SANDBOXES: '20' },
  });
  t.after(() => server.stop());
  const result = await runLoad(server, {
    clients: Number(process.env.SANDBOXD_LOAD_CLIENTS ?? 40),
    durationMs: Number(process.env.SANDBOXD_LOAD_SECONDS ?? 20) * 1000,
  });
  for (const row of latencyTable(result)) {
    t.diagnostic(
      `${row.op}: ${row.count} ops, p50 ${row.p50.toFixed(0)} ms, p95 ${row.p95.toFixed(0)} ms, p99 ${row.p99.toFixed(0)} ms`,
    );
  }
  t.diagnostic(`sandboxes ${result.sandboxes.length}, 429s ${result.rateLimited}, errors ${result.errors.length}`);
  assert.deepEqual(result.errors.slice(0, 20), [], 'no error but 429s');
  assert.ok(result.sandboxes.length >= 20, `the load ran (${result.sandboxes.length} sandboxes)`);
  assert.equal(leakCount(result), 0, JSON.stringify(result.leaks));
});
