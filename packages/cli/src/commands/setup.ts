import { buildEnvdBundle } from '@sandboxd/envd/build';
import { buildTemplate, ensureHelpers, isTemplateBuilt } from '@sandboxd/runtime';
import type { Config } from '@sandboxd/server';
import { installHostPackages, missingHostPackages } from '../host-packages.js';
import { createProgress } from '../progress.js';

/**
 * Idempotent host set-up: everything `serve` and the tests need, each step skipped when already
 * done. Safe to re-run; a second run on a set-up machine takes about a second.
 */
export async function setup(config: Readonly<Config>): Promise<void> {
  if (process.getuid?.() !== 0) {
    throw new Error('sandboxd needs root to create sandboxes (namespaces, cgroups, mounts): run it as root');
  }
  const progress = createProgress(4);
  const missing = missingHostPackages();
  await progress.step(
    missing.length ? `Installing Debian packages: ${missing.join(' ')}` : 'Debian packages present',
    async (update) => {
      if (missing.length) await installHostPackages(missing, update);
    },
  );
  await progress.step('Building host helpers', async () => {
    await ensureHelpers(config.helpersDir);
  });
  await progress.step('Bundling envd', async () => {
    await buildEnvdBundle(config.envdBundlePath);
  });
  const built = await isTemplateBuilt(config.templatesDir, 'base');
  await progress.step(
    built ? "Template 'base' ready" : "Building template 'base' (debootstrap + apt, a few minutes once)",
    async (update) => {
      await buildTemplate({
        name: 'base',
        templatesDir: config.templatesDir,
        onProgress: (step, detail) => update(`${step}${detail ? `: ${detail}` : ''}`),
      });
    },
  );
}
