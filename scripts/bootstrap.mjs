#!/usr/bin/env node
// Entry point of `npm start`, `npm test`, `npm run setup|bench|doctor` on a fresh clone: it uses
// only Node built-ins, installs npm dependencies when they are missing or stale, then hands over
// to the TypeScript CLI (run through tsx, so there is no separate build step).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const [verb = 'serve', ...args] = process.argv.slice(2);

function run(command, commandArgs, options = {}) {
  const result = spawnSync(command, commandArgs, { cwd: root, stdio: 'inherit', ...options });
  if (result.error) throw result.error;
  return result.status ?? 1;
}

function ensureNodeModules() {
  const marker = path.join(root, 'node_modules', '.package-lock.json');
  const lock = path.join(root, 'package-lock.json');
  const stale = !fs.existsSync(marker) || fs.statSync(lock).mtimeMs > fs.statSync(marker).mtimeMs;
  if (!stale) return;
  process.stdout.write('[npm] installing dependencies (builds better-sqlite3 from source the first time)\n');
  // `npm install`, not `npm ci`: npm 11 leaves other platforms' optional packages (biome's and
  // buf's binaries) out of the lock file, and `npm ci` then rejects its own lock as out of sync.
  // With a lock present, `npm install` installs exactly the locked versions.
  const status = run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error']);
  if (status !== 0) process.exit(status);
}

function findTests(dir, out = []) {
  if (!fs.existsSync(dir)) return out;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name === 'dist') continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) findTests(full, out);
    else if (entry.name.endsWith('.test.ts')) out.push(path.relative(root, full));
  }
  return out.sort();
}

const cli = ['--import', 'tsx', 'packages/cli/src/main.ts'];
// Built-in templates the tests and benchmarks start sandboxes of, besides base.
const testTemplates = 'python-data-science,code-interpreter-v1';

ensureNodeModules();
switch (verb) {
  case 'serve':
  case 'setup':
  case 'doctor':
    process.exit(run(process.execPath, [...cli, verb, ...args]));
    break;
  case 'test':
  case 'test-only': {
    // `test` is the full gate (set-up, lint, every test); `test-only [filter…]` just runs tests.
    if (verb === 'test') {
      // --for-tests: also Debian's chromium, for the SDK's browser-build test.
      let status = run(process.execPath, [...cli, 'setup', '--templates', testTemplates, '--for-tests']);
      if (status !== 0) process.exit(status);
      process.stdout.write('[lint] biome + tsc\n');
      status = run('npm', ['run', '--silent', 'lint']);
      if (status !== 0) process.exit(status);
      // Generated files (protocol code, the SDK's API reference, the OpenAPI description) must be exactly what
      // `npm run gen` makes from their sources: changed, added or deleted ones all count.
      process.stdout.write('[gen] generated files are up to date\n');
      status = run('npm', ['run', '--silent', 'gen']);
      if (status === 0) {
        const generated = ['packages/protocol/src/gen', 'packages/sdk/docs/api', 'docs/openapi.json'];
        const drift = spawnSync('git', ['status', '--porcelain', '--', ...generated], { cwd: root, encoding: 'utf8' });
        status = drift.status ?? 1;
        if (status === 0 && drift.stdout.trim() !== '') {
          process.stderr.write(drift.stdout);
          status = 1;
        }
      }
      if (status !== 0) {
        process.stderr.write('generated files differ from `npm run gen`: regenerate and commit them\n');
        process.exit(status);
      }
    }
    // Unit tests first (fast feedback), then the end-to-end suites, all in one run of node's
    // test runner so its closing summary counts every test. One file at a time: sandboxes share
    // two cores and the machine-wide address and uid ranges.
    const files = [...findTests(path.join(root, 'packages')), ...findTests(path.join(root, 'tests'))];
    const filter = args.length > 0 ? files.filter((f) => args.some((a) => f.includes(a))) : files;
    process.exit(
      run(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-reporter=spec', ...filter]),
    );
    break;
  }
  case 'bench':
  case 'soak': {
    const status = run(process.execPath, [...cli, 'setup', '--templates', testTemplates]);
    if (status !== 0) process.exit(status);
    const script = verb === 'bench' ? 'bench/run.ts' : 'bench/soak.ts';
    process.exit(run(process.execPath, ['--import', 'tsx', script, ...args]));
    break;
  }
  default:
    process.stderr.write(`unknown verb '${verb}' (serve, setup, doctor, test, bench, soak)\n`);
    process.exit(2);
}
