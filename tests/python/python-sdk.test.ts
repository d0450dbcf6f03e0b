import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { isPythonSdkReady, pythonSdkVenv } from '@sandboxd/cli/python-sdk';
import { needsSandboxHost } from '@sandboxd/runtime/testing';
import { loadConfig } from '@sandboxd/server';
import { runPytest } from '../support/pytest-runner.js';
import { startTestServer, type TestServer } from '../support/server-harness.js';

// The official E2B Python SDK (PyPI `e2b`, the version pinned in requirements.txt), sync and async
// clients, against a real server: each pytest case in tests/python is one subtest here.
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const venv = pythonSdkVenv(loadConfig({ env: process.env, argv: [], repoRoot }).machineDir);
// CI never skips (a missing venv there is a set-up bug); a contributor without it is told how to get it.
const venvMissing =
  !process.env.CI && !isPythonSdkReady(venv) ? `no Python SDK venv at ${venv.dir}: run \`npm run setup\`` : false;

describe('official Python SDK', { ...needsSandboxHost, ...(venvMissing ? { skip: venvMissing } : {}) }, () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(async () => {
    await server?.stop();
  });

  test('pytest tests/python (sync and async clients)', async (t) => {
    assert.ok(isPythonSdkReady(venv), `no Python SDK venv at ${venv.dir}: run \`npm run setup\``);
    // SANDBOXD_PYTEST_FILTER narrows a local run to a pytest -k expression, e.g. "pause or pty".
    const filter = process.env.SANDBOXD_PYTEST_FILTER;
    const args = filter ? ['-k', filter] : [];
    const run = await runPytest(venv.python, server, { args, timeoutMs: 20 * 60_000 });
    assert.ok(run.cases.length > 0, `pytest ran no case (exit ${run.exitCode}):\n${run.output}`);
    for (const c of run.cases) {
      await t.test(c.nodeid, c.outcome === 'skipped' ? { skip: c.detail } : {}, () => {
        if (c.outcome === 'failed') assert.fail(c.detail);
      });
    }
    // Exit 1 is "some case failed", reported above; anything else (a collection error, the time
    // limit) is a failure of the run itself.
    assert.ok(run.exitCode === 0 || run.exitCode === 1, `pytest exited with ${run.exitCode}:\n${run.output}`);
  });
});
