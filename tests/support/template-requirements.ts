import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isTemplateBuilt } from '@sandboxd/runtime';
import { needsSandboxHost } from '@sandboxd/runtime/testing';
import { loadConfig } from '@sandboxd/server';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * Test options for a suite that needs real sandboxes of the built-in templates `names`: a skip
 * that names the missing templates and the command that builds them, on a host that lacks them.
 * CI never skips (`npm test` builds what its tests need, so a missing template there is a bug):
 * there the options are always "run", and the suite fails on the missing template.
 *
 *   describe('python-data-science', await needsTemplates('python-data-science'), () => { … });
 */
export async function needsTemplates(...names: string[]): Promise<{ skip?: string }> {
  if (needsSandboxHost.skip) return needsSandboxHost;
  if (process.env.CI) return {};
  const { templatesDir } = loadConfig({ env: process.env, argv: [], repoRoot });
  const missing: string[] = [];
  for (const name of names) if (!(await isTemplateBuilt(templatesDir, name))) missing.push(name);
  if (missing.length === 0) return {};
  return { skip: `template ${missing.join(', ')} not built in ${templatesDir}: ${buildCommand(missing)}` };
}

/** How a contributor builds `names` (as root, into the machine-wide template store). */
export function buildCommand(names: string[]): string {
  return names.map((name) => `run \`sandboxd template build ${name}\``).join(' and ');
}
