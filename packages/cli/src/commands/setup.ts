import { buildEnvdBundle } from '@sandboxd/envd/build';
import { buildTemplate, ensureHelpers, isTemplateCurrent } from '@sandboxd/runtime';
import type { Config } from '@sandboxd/server';
import { buildCriu, isCriuInstalled } from '../criu-build.js';
import { installHostPackages, missingHostPackages } from '../host-packages.js';
import { createProgress } from '../progress.js';
import { buildPythonSdk, isPythonSdkReady, pythonSdkVenv } from '../python-sdk.js';

/**
 * Idempotent host set-up: everything `serve` and the tests need, each step skipped when already
 * done. Safe to re-run; a second run on a set-up machine takes about a second.
 */
export async function setup(config: Readonly<Config>): Promise<void> {
  if (process.getuid?.() !== 0) {
    throw new Error('sandboxd needs root to create sandboxes (namespaces, cgroups, mounts): run it as root');
  }
  const progress = createProgress(6);
  const missing = missingHostPackages();
  await progress.step(
    missing.length ? `Installing Debian packages: ${missing.join(' ')}` : 'Debian packages present',
    async (update) => {
      if (missing.length) await installHostPackages(missing, update);
    },
  );
  // Runs before the template build: a CRIU build failure shows in seconds, not after debootstrap.
  const criu = await isCriuInstalled();
  await progress.step(
    criu ? 'CRIU 4.1.1 (patched) present' : 'Building CRIU 4.1.1 from Debian trixie source (about 30 s once)',
    async (update) => {
      if (!criu) await buildCriu(update);
    },
  );
  await progress.step('Building host helpers', async () => {
    await ensureHelpers(config.helpersDir);
  });
  await progress.step('Bundling envd', async () => {
    await buildEnvdBundle(config.envdBundlePath);
  });
  // A template built from an older recipe is rebuilt (buildTemplate compares the recipe's hash).
  const built = await isTemplateCurrent('base', config.templatesDir);
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
  const venv = pythonSdkVenv(config.machineDir);
  const sdkReady = isPythonSdkReady(venv);
  await progress.step(
    sdkReady ? 'Python SDK venv ready (e2b, pytest)' : `Installing the E2B Python SDK and pytest into ${venv.dir}`,
    async (update) => {
      if (!sdkReady) await buildPythonSdk(venv, update);
    },
  );
}
