import { buildJsRunnerBundle } from '@sandboxd/code-interpreter/js-runner-build';
import { SandboxdError } from '@sandboxd/common';
import { buildEnvdBundle } from '@sandboxd/envd/build';
import {
  buildTemplate,
  builtInRecipes,
  ensureHelpers,
  isTemplateCurrent,
  jsRunnerBundle,
  recipeChain,
} from '@sandboxd/runtime';
import type { Config } from '@sandboxd/server';
import { buildCriu, isCriuInstalled } from '../criu-build.js';
import { installHostPackages, missingHostPackages, missingPackages, testHostPackages } from '../host-packages.js';
import { createProgress, type Progress } from '../progress.js';
import { buildPythonSdk, isPythonSdkReady, pythonSdkVenv } from '../python-sdk.js';
import { makeReadySnapshots, snapshotted } from '../ready-snapshots.js';

export interface SetupOptions {
  /** Built-in templates to build besides `base` (their parents come first). */
  templates?: readonly string[];
  /** Also install what only the tests use (`--for-tests`, passed by `npm test`): Chromium. */
  forTests?: boolean;
}

/**
 * Idempotent host set-up: everything `serve` and the tests need, each step skipped when already
 * done. Safe to re-run; a second run on a set-up machine takes about a second.
 */
export async function setup(config: Readonly<Config>, options: SetupOptions = {}): Promise<void> {
  if (process.getuid?.() !== 0) {
    throw new Error('sandboxd needs root to create sandboxes (namespaces, cgroups, mounts): run it as root');
  }
  const templates = templatesToBuild(['base', ...(options.templates ?? [])]);
  const progress = createProgress(5 + (options.forTests ? 1 : 0) + templateSteps(templates));
  const missing = missingHostPackages();
  await progress.step(
    missing.length ? `Installing Debian packages: ${missing.join(' ')}` : 'Debian packages present',
    async (update) => {
      if (missing.length) await installHostPackages(missing, update);
    },
  );
  if (options.forTests) {
    const missingForTests = missingPackages(testHostPackages);
    await progress.step(
      missingForTests.length
        ? `Installing Debian packages for the tests: ${missingForTests.join(' ')}`
        : `Debian packages for the tests present (${testHostPackages.join(' ')})`,
      async (update) => {
        if (missingForTests.length) await installHostPackages(missingForTests, update);
      },
    );
  }
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
  await buildTemplates(config, templates, progress);
  const venv = pythonSdkVenv(config.machineDir);
  const sdkReady = isPythonSdkReady(venv);
  await progress.step(
    sdkReady ? 'Python SDK venv ready (e2b, pytest)' : `Installing the E2B Python SDK and pytest into ${venv.dir}`,
    async (update) => {
      if (!sdkReady) await buildPythonSdk(venv, update);
    },
  );
}

/** `sandboxd template build <name>…`: the named built-in templates and their parents, nothing else. */
export async function buildTemplatesCommand(config: Readonly<Config>, names: readonly string[]): Promise<void> {
  const templates = templatesToBuild(names);
  await buildTemplates(config, templates, createProgress(templateSteps(templates)));
}

/** Progress steps of buildTemplates: the JS runner, each template, each ready snapshot. */
function templateSteps(templates: readonly string[]): number {
  return templates.length + (needsJsRunner(templates) ? 1 : 0) + snapshotted(templates).length;
}

/** The templates with their parents, parents first, each once; an unknown name is refused up front. */
export function templatesToBuild(names: readonly string[]): string[] {
  const unknown = names.filter((n) => !builtInRecipes[n]);
  if (unknown.length) {
    const known = Object.keys(builtInRecipes).join(', ');
    throw new SandboxdError('TEMPLATE_NOT_FOUND', `unknown template ${unknown.join(', ')} (built-in: ${known})`);
  }
  return [...new Set(names.flatMap((n) => recipeChain(n)))];
}

function needsJsRunner(templates: readonly string[]): boolean {
  return templates.some((t) => builtInRecipes[t]?.files?.some((f) => f.source === jsRunnerBundle));
}

async function buildTemplates(config: Readonly<Config>, templates: readonly string[], progress: Progress) {
  if (needsJsRunner(templates)) {
    await progress.step('Bundling the code-interpreter JavaScript runner', async () => {
      await buildJsRunnerBundle(jsRunnerBundle);
    });
  }
  for (const name of templates) {
    // A template built from an older recipe is rebuilt (buildTemplate compares the recipe's hash).
    const built = await isTemplateCurrent(name, config.templatesDir);
    await progress.step(
      built ? `Template '${name}' ready` : `Building template '${name}' (${buildHint(name)})`,
      async (update) => {
        await buildTemplate({
          name,
          templatesDir: config.templatesDir,
          onProgress: (step, detail) => update(`${step}${detail ? `: ${detail}` : ''}`),
        });
      },
    );
  }
  // After every build: a snapshot is of its template's current build.
  await makeReadySnapshots(config, templates, progress);
}

function buildHint(name: string): string {
  return builtInRecipes[name]?.from
    ? `apt and pip on a copy of '${builtInRecipes[name]?.from}', a few minutes once`
    : 'debootstrap + apt, a few minutes once';
}
