import fs from 'node:fs';
import { checkHost } from '@sandboxd/runtime';
import type { Config } from '@sandboxd/server';
import { missingHostPackages } from '../host-packages.js';
import { isPythonSdkReady, pythonSdkVenv } from '../python-sdk.js';

/** Reports what is missing for sandboxd to run here, and how to fix each item. Exit code 1 if anything is. */
export async function doctor(config: Readonly<Config>): Promise<number> {
  const checks: Array<{ name: string; ok: boolean; fix?: string }> = [];
  const [major] = process.versions.node.split('.').map(Number);
  checks.push({ name: `Node.js ${process.versions.node}`, ok: (major ?? 0) >= 20, fix: 'install Node.js 20 or newer' });
  checks.push({
    name: 'running as root',
    ok: process.getuid?.() === 0,
    fix: 'run as root (sandboxes need namespaces, cgroups and mounts)',
  });
  const missing = missingHostPackages();
  checks.push({
    name: 'Debian packages',
    ok: missing.length === 0,
    fix: `apt-get install ${missing.join(' ')} (or: npm run setup)`,
  });
  checks.push({
    name: `envd bundle (${config.envdBundlePath})`,
    ok: fs.existsSync(config.envdBundlePath),
    fix: 'npm run setup',
  });
  const venv = pythonSdkVenv(config.machineDir);
  checks.push({
    name: `Python SDK venv for the tests (${venv.dir})`,
    ok: isPythonSdkReady(venv),
    fix: 'npm run setup',
  });
  for (const check of await checkHost({ templatesDir: config.templatesDir, helpersDir: config.helpersDir })) {
    checks.push(check);
  }
  let failures = 0;
  for (const check of checks) {
    if (!check.ok) failures++;
    process.stdout.write(
      `${check.ok ? '✔' : '✘'} ${check.name}${check.ok || !check.fix ? '' : `\n    fix: ${check.fix}`}\n`,
    );
  }
  process.stdout.write(failures === 0 ? 'All checks passed.\n' : `${failures} check(s) failed.\n`);
  return failures === 0 ? 0 : 1;
}
