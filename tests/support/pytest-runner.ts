import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestServer } from './server-harness.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** One pytest case as tests/python/conftest.py reports it. */
export interface PytestCase {
  nodeid: string;
  outcome: 'passed' | 'failed' | 'skipped';
  /** The failure (traceback and captured output) or the skip reason. */
  detail: string;
}

export interface PytestRun {
  cases: PytestCase[];
  /** pytest's exit code, or null when it was killed (the time limit). */
  exitCode: number | null;
  /** Everything pytest printed, for a failure that no case explains (collection errors). */
  output: string;
}

/**
 * Runs pytest on tests/python with the venv's interpreter, with the official SDK pointed at
 * `server`, and returns each case's result (conftest.py writes one JSON line per finished case,
 * so a run cut short by the time limit still reports what finished).
 */
export async function runPytest(
  python: string,
  server: TestServer,
  options: { args?: string[]; timeoutMs: number },
): Promise<PytestRun> {
  const reportDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sandboxd-pytest-'));
  const reportPath = path.join(reportDir, 'cases.jsonl');
  try {
    const child = spawn(python, ['-m', 'pytest', 'tests/python', '-q', '-rN', '--tb=short', ...(options.args ?? [])], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        E2B_API_URL: server.url,
        E2B_SANDBOX_URL: server.url,
        E2B_API_KEY: server.apiKey,
        E2B_DOMAIN: new URL(server.url).host,
        SANDBOXD_PYTEST_REPORT: reportPath,
        PYTHONDONTWRITEBYTECODE: '1',
      },
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
    const exitCode = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (code) => resolve(code));
    }).finally(() => clearTimeout(timer));
    const lines = fs.existsSync(reportPath) ? fs.readFileSync(reportPath, 'utf8').split('\n').filter(Boolean) : [];
    return { cases: lines.map((line) => JSON.parse(line) as PytestCase), exitCode, output };
  } finally {
    fs.rmSync(reportDir, { recursive: true, force: true });
  }
}
