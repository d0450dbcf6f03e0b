import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createLogger } from '@sandboxd/common';
import { builtInRecipes, isAlive, RuncRuntime } from '@sandboxd/runtime';
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
  let update: (detail: string) => void = () => {};
  const runtimeOn = (stateDir: string) =>
    new RuncRuntime({
      stateDir,
      templatesDir: config.templatesDir,
      snapshotsDir: config.snapshotsDir,
      helpersDir: config.helpersDir,
      envdBundlePath: config.envdBundlePath,
      runDir: config.runDir,
      logger: createLogger({ level: 'info', write: (line) => update(String(JSON.parse(line).msg)) }),
    });
  await sweepInterruptedRuns(runtimeOn);
  const stateDir = await fs.mkdtemp(path.join(os.tmpdir(), statePrefix));
  await fs.writeFile(path.join(stateDir, ownerFile), String(process.pid));
  const runtime = runtimeOn(stateDir);
  try {
    for (const name of names) {
      const current = await runtime.readySnapshot(name, limits);
      const failed = await progress.step(
        current ? `Ready snapshot of '${name}' current` : `Ready snapshot of '${name}' (one boot and checkpoint)`,
        async (u) => {
          update = u;
          if (current) return undefined;
          // An optimisation only: without it creates boot cold, so set-up (and serve) go on.
          return runtime.ensureReadySnapshot(name, limits).then(
            () => undefined,
            (err: unknown) => err,
          );
        },
      );
      if (failed) {
        const reason = failed instanceof Error ? (failed.cause ?? failed).toString() : String(failed);
        process.stderr.write(`  ! ready snapshot of '${name}' not made (its creates boot cold): ${reason}\n`);
      }
    }
  } finally {
    await fs.rm(stateDir, { recursive: true, force: true });
  }
}

const statePrefix = 'sandboxd-setup-snapshot-';
const ownerFile = 'owner.pid';

/**
 * The state dirs of set-up runs that died mid-snapshot (Ctrl-C): their snapshot sandbox may still
 * run, holding a slot. No server sweeps another's state dir, so the next set-up does.
 */
async function sweepInterruptedRuns(runtimeOn: (stateDir: string) => RuncRuntime): Promise<void> {
  const tmp = os.tmpdir();
  for (const name of await fs.readdir(tmp).catch(() => [] as string[])) {
    if (!name.startsWith(statePrefix)) continue;
    const dir = path.join(tmp, name);
    const owner = Number.parseInt(await fs.readFile(path.join(dir, ownerFile), 'utf8').catch(() => ''), 10);
    if (Number.isFinite(owner) ? isAlive(owner) : await isRecent(dir)) continue;
    const leftover = runtimeOn(dir);
    await leftover.sweep(new Set());
    await fs.rm(dir, { recursive: true, force: true });
  }
}

/** A dir made in the last minute may be a running set-up's that has not written its owner yet. */
async function isRecent(dir: string): Promise<boolean> {
  const made = await fs.stat(dir).then(
    (s) => s.mtimeMs,
    () => 0,
  );
  return Date.now() - made < 60_000;
}
