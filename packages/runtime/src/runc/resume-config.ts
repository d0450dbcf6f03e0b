import fs from 'node:fs/promises';
import { SandboxdError } from '@sandboxd/common';
import { fileExists } from '../host/install-once.js';
import { sandboxEnvd, sandboxEnvdHelper, sandboxNode } from './oci-spec.js';

/** Today's host files behind the sandbox's read-only binds (each a content-named, never rewritten file). */
export interface BindSources {
  envdBundle: string;
  node: string;
  envdHelper: string;
}

interface BundleConfig {
  mounts: Array<{ destination: string; source: string }>;
  process: { env: string[] };
}

/**
 * Points config.json's binds at the right host files before a resume:
 * - a fresh boot (filesystem-only) takes today's node, envd bundle and envd helper: an upgrade
 *   reaches a sandbox at its next boot;
 * - a memory restore keeps the node binary and the envd helper the sandbox was dumped with (its
 *   processes map them; CRIU restores those mappings from the same files, which are never
 *   rewritten) and fails clearly if one was deleted. Only the envd bundle moves to today's copy:
 *   it is staged in the run dir, which a reboot wipes, and a running envd holds no fd on it.
 * A fresh boot may also get envd variables to set (`envdEnv`); a restore keeps its process environment.
 */
export async function updateResumeConfig(
  configPath: string,
  current: BindSources,
  options: { restoreMemory: boolean; envdEnv?: Record<string, string> | undefined },
): Promise<void> {
  const config = JSON.parse(await fs.readFile(configPath, 'utf8')) as BundleConfig;
  const before = JSON.stringify(config);
  const bind = (destination: string) => {
    const mount = config.mounts.find((m) => m.destination === destination);
    if (!mount) throw new SandboxdError('RUNTIME_FAILED', `config.json of ${configPath} has no ${destination} mount`);
    return mount;
  };
  bind(sandboxEnvd).source = current.envdBundle;
  if (options.restoreMemory) {
    for (const mount of [bind(sandboxNode), bind(sandboxEnvdHelper)]) {
      if (!(await fileExists(mount.source))) {
        throw new SandboxdError('RUNTIME_FAILED', `cannot restore the sandbox's memory: ${mount.source} is gone`);
      }
    }
  } else {
    bind(sandboxNode).source = current.node;
    bind(sandboxEnvdHelper).source = current.envdHelper;
    if (options.envdEnv) config.process.env = withEnv(config.process.env, options.envdEnv);
  }
  const after = JSON.stringify(config);
  if (after !== before) await fs.writeFile(configPath, after);
}

function withEnv(env: string[], set: Record<string, string>): string[] {
  const names = new Set(Object.keys(set));
  return [
    ...env.filter((entry) => !names.has(entry.slice(0, entry.indexOf('=')))),
    ...Object.entries(set).map(([k, v]) => `${k}=${v}`),
  ];
}
