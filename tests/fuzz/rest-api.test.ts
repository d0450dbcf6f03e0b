import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { isPythonSdkReady, pythonSdkVenv } from '@sandboxd/cli/python-sdk';
import { needsSandboxHost } from '@sandboxd/runtime/testing';
import { loadConfig } from '@sandboxd/server';
import { killAllSandboxes } from '../support/docs-examples.js';
import { startTestServer, type TestServer } from '../support/server-harness.js';

// schemathesis (PyPI, pinned in tests/python/requirements.txt) fuzzes the control-plane API of a
// real server with real sandboxes, from docs/openapi.json (generated from the route schemas):
// positive and negative bodies, query strings and ids for every operation, and stateful runs that
// create sandboxes and act on them through the description's links. The one check: no answer is
// a 5xx. Bounded in time; SANDBOXD_FUZZ_SECONDS and SANDBOXD_FUZZ_SEED change the budget and seed.

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const venv = pythonSdkVenv(loadConfig({ env: process.env, argv: [], repoRoot }).machineDir);
const venvMissing =
  !process.env.CI && !isPythonSdkReady(venv) ? `no test-tools venv at ${venv.dir}: run \`npm run setup\`` : false;

// Placeholders that answer 501 on purpose (not supported yet): a 5xx by design, so not fuzzed.
// The event stream never ends, so it cannot be fuzzed request by request (bad-input tests cover it).
const excludedPaths = [
  '/events',
  '/sandboxes/{sandboxID}/metrics',
  '/sandboxes/{sandboxID}/snapshots',
  '/sandboxes/{sandboxID}/fork',
  '/sandboxes/{sandboxID}/network',
];

interface FuzzRun {
  exitCode: number | null;
  output: string;
  generated: number;
  failures: number;
}

function runSchemathesis(server: TestServer, seconds: number, seed: string): Promise<FuzzRun> {
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sandboxd-fuzz-'));
  // The venv is moved into place after pip ran, so its `st` script's shebang is stale: call the CLI's entry.
  const entry = "import sys; from schemathesis.cli import schemathesis; sys.argv[0] = 'st'; sys.exit(schemathesis())";
  const args = [
    '-c',
    entry,
    'run',
    path.join(repoRoot, 'docs/openapi.json'),
    '--url',
    server.url,
    '--header',
    `X-API-KEY: ${server.apiKey}`,
    '--checks',
    'not_a_server_error',
    '--max-examples',
    '20',
    '--max-time',
    String(seconds),
    '--seed',
    seed,
    '--workers',
    '2',
    '--request-timeout',
    '60',
    '--generation-database',
    'none',
    '--no-color',
    ...excludedPaths.flatMap((p) => ['--exclude-path', p]),
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(venv.python, args, { cwd: workDir, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => {
      output += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      output += d.toString();
    });
    const killer = setTimeout(() => child.kill('SIGKILL'), (seconds + 120) * 1000);
    child.once('error', reject);
    child.once('exit', (exitCode) => {
      clearTimeout(killer);
      fs.rmSync(workDir, { recursive: true, force: true });
      const generated = Number(/(\d+) generated/.exec(output)?.[1] ?? 0);
      const failures = Number(/(\d+) (?:unique )?failures?/.exec(output)?.[1] ?? 0);
      resolve({ exitCode, output, generated, failures });
    });
  });
}

describe('REST API fuzzing (schemathesis)', {
  ...needsSandboxHost,
  ...(venvMissing ? { skip: venvMissing } : {}),
}, () => {
  let server: TestServer;
  before(async () => {
    // No warm pool (creates boot real sandboxes), no rate limit (the fuzzer's own pace), and a
    // small concurrent limit: beyond it creates answer 429, which is a correct answer too.
    server = await startTestServer({
      env: { SANDBOXD_WARM_POOL: '0', SANDBOXD_RATE_LIMIT: '0', SANDBOXD_MAX_CONCURRENT_SANDBOXES: '4' },
    });
  });
  after(async () => {
    if (server) await killAllSandboxes(server).catch(() => undefined);
    await server?.stop();
  });

  test('no input makes the server answer 5xx, crash or hang', async () => {
    assert.ok(isPythonSdkReady(venv), `no test-tools venv at ${venv.dir}: run \`npm run setup\``);
    const seconds = Number(process.env.SANDBOXD_FUZZ_SECONDS ?? 40);
    const seed = process.env.SANDBOXD_FUZZ_SEED ?? '20261203';
    const run = await runSchemathesis(server, seconds, seed);
    const summary = run.output.split('\n').filter((l) => /generated|Seed:|Tested:|failures?/.test(l));
    process.stdout.write(`# fuzz: ${summary.map((l) => l.trim()).join(' | ')}\n`);
    assert.ok(run.generated > 200, `the fuzzer ran (${run.generated} cases):\n${run.output.slice(-3000)}`);
    assert.equal(run.failures, 0, run.output.slice(-6000));
    assert.equal(run.exitCode, 0, run.output.slice(-6000));
    const health = await fetch(`${server.url}/health`);
    assert.equal(health.status, 200, 'the server still serves');
    // Every sandbox the fuzzer made can still be killed cleanly: nothing was left half-made.
    await killAllSandboxes(server);
  });
});
