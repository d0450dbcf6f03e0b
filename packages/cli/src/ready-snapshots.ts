import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createLogger } from '@sandboxd/common';
import { builtInRecipes, RuncRuntime } from '@sandboxd/runtime';
import type { Config } from '@sandboxd/server';
import type { Progress } from './progress.js';

/** The built-in templates among `templates` that get a ready snapshot: those with a start command. */
export function snapshotted(templates: readonly string[]): string[] {
  return templates.filter((t) => Boolean(builtInRecipes[t]?.start));
}

/**
 * Makes the ready snapshot of each template with a start command into the machine's store, one
 * step each, skipped when it is current — so servers find it there and never make their own at
 * start. It must be the snapshot a server restores: same envd bundle, node, helpers and CRIU
 * (this machine's, as a server has them), and the server's default sandbox limits from the config
 * (the key holds them). The snapshot sandbox runs in a runtime of its own on a private temp state
 * dir, deleted after (its sandbox is killed once dumped).
 */
export async function makeReadySnapshots(
  config: Readonly<Config>,
  templates: readonly string[],
  progress: Progress,
): Promise<void> {
  const names = snapshotted(templates);
  if (names.length === 0) return;
  const limits = {
    cpuCount: config.sandbox.cpuCount,
    memoryMiB: config.sandbox.memoryMiB,
    diskSizeMiB: config.sandbox.diskSizeMiB,
    pids: config.sandbox.pids,
  };
  const stateDir = await fs.mkdtemp(path.join(os.tmpdir(), 'sandboxd-setup-snapshot-'));
  let update: (detail: string) => void = () => {};
  const runtime = new RuncRuntime({
    stateDir,
    templatesDir: config.templatesDir,
    snapshotsDir: config.snapshotsDir,
    helpersDir: config.helpersDir,
    envdBundlePath: config.envdBundlePath,
    runDir: config.runDir,
    logger: createLogger({ level: 'info', write: (line) => update(String(JSON.parse(line).msg)) }),
  });
  try {
    for (const name of names) {
      const current = await runtime.readySnapshot(name, limits);
      await progress.step(
        current ? `Ready snapshot of '${name}' current` : `Ready snapshot of '${name}' (one boot and checkpoint)`,
        async (u) => {
          update = u;
          if (!current) await runtime.ensureReadySnapshot(name, limits);
        },
      );
    }
  } finally {
    await fs.rm(stateDir, { recursive: true, force: true });
  }
}
