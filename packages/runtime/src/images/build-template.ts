import fs from 'node:fs/promises';
import path from 'node:path';
import { SandboxdError } from '@sandboxd/common';
import { removeTree } from '../process/mounts.js';
import { runCommand } from '../process/run-command.js';
import { unmountTree } from '../rootfs/release-rootfs.js';
import { acquireBuildLock } from './build-lock.js';
import { builtInRecipes } from './built-in-templates.js';
import { configureTemplate } from './configure-template.js';
import { templateHash } from './template-hash.js';
import {
  defaultTemplatesDir,
  isTemplateBuilt,
  readTemplateMarker,
  type TemplateMarker,
  templateMarkerName,
  templateRootfs,
} from './template-paths.js';
import type { TemplateRecipe } from './template-recipe.js';

export type TemplateProgress = (step: string, detail?: string) => void;

export interface BuildTemplateOptions {
  name: string;
  templatesDir?: string;
  onProgress?: TemplateProgress;
  /** Override the built-in recipe for `name` (tests, custom templates). */
  recipe?: TemplateRecipe;
}

export interface BuildTemplateResult {
  rootfs: string;
  /** False when an up-to-date build was already there. */
  built: boolean;
  recipeHash: string;
}

/** The hash a current build of built-in template `name` carries (its parents' included). */
export async function builtInTemplateHash(name: string): Promise<string> {
  const recipe = builtInRecipes[name];
  if (!recipe) throw new SandboxdError('TEMPLATE_NOT_FOUND', `no recipe for template ${name}`);
  return templateHash(recipe, recipe.from ? await builtInTemplateHash(recipe.from) : undefined);
}

/** True when the template is built from its recipe as it is now (a changed recipe means a rebuild). */
export async function isTemplateCurrent(name: string, templatesDir: string = defaultTemplatesDir): Promise<boolean> {
  if (!builtInRecipes[name] || !(await isTemplateBuilt(templatesDir, name))) return false;
  return (await readTemplateMarker(templatesDir, name))?.recipeHash === (await builtInTemplateHash(name));
}

/**
 * Builds a template root filesystem: debootstrap minbase (or a copy of the parent template's
 * rootfs, built first when it is not current), then apt-get, pip and the recipe's commands inside
 * a chroot, then its files, user and system files. Works in `<templatesDir>/.build-<name>-<pid>`
 * and renames into place only when complete, so a reader never sees a half-built rootfs.
 * Idempotent: a rootfs whose marker carries the current hash is kept as is.
 */
export async function buildTemplate(options: BuildTemplateOptions): Promise<BuildTemplateResult> {
  const { name } = options;
  const templatesDir = options.templatesDir ?? defaultTemplatesDir;
  const progress: TemplateProgress = options.onProgress ?? (() => {});
  const recipe = options.recipe ?? builtInRecipes[name];
  if (!recipe) throw new SandboxdError('TEMPLATE_NOT_FOUND', `no recipe for template ${name}`);
  const parent = recipe.from
    ? await buildTemplate({
        name: recipe.from,
        templatesDir,
        ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      })
    : undefined;
  const hash = await templateHash(recipe, parent?.recipeHash);
  const rootfs = templateRootfs(templatesDir, name);

  if ((await readTemplateMarker(templatesDir, name))?.recipeHash === hash) {
    progress('cached', `template ${name} is up to date (${hash})`);
    return { rootfs, built: false, recipeHash: hash };
  }
  await fs.mkdir(templatesDir, { recursive: true });
  const release = await acquireBuildLock(path.join(templatesDir, `.${name}.lock`), () =>
    progress('wait', `another process is building template ${name}`),
  );
  try {
    // Someone else may have finished the same build while we waited for the lock.
    if ((await readTemplateMarker(templatesDir, name))?.recipeHash === hash) {
      progress('cached', `template ${name} was built by another process`);
      return { rootfs, built: false, recipeHash: hash };
    }
    const work = path.join(templatesDir, `.build-${name}-${process.pid}`);
    await removeWorkTree(work);
    try {
      if (parent) await copyParent(recipe.from as string, parent.rootfs, path.join(work, 'rootfs'), progress);
      else await debootstrap(recipe, path.join(work, 'rootfs'), progress);
      await configureTemplate(recipe, path.join(work, 'rootfs'), progress);
      const marker: TemplateMarker = {
        name,
        recipeHash: hash,
        builtAt: new Date().toISOString(),
        ...(recipe.start ? { start: recipe.start } : {}),
        ...(recipe.ready ? { ready: recipe.ready } : {}),
      };
      await fs.writeFile(path.join(work, templateMarkerName), `${JSON.stringify(marker, null, 2)}\n`);
      await swapIntoPlace(work, path.join(templatesDir, name));
    } catch (err) {
      await removeWorkTree(work);
      throw new SandboxdError('RUNTIME_FAILED', `building template ${name} failed`, { cause: err });
    }
    progress('done', `template ${name} ready at ${rootfs}`);
    return { rootfs, built: true, recipeHash: hash };
  } finally {
    await release();
  }
}

async function debootstrap(recipe: TemplateRecipe, rootfs: string, progress: TemplateProgress): Promise<void> {
  progress('debootstrap', `${recipe.suite} minbase from ${recipe.mirror}`);
  await fs.mkdir(rootfs, { recursive: true });
  await runCommand('debootstrap', ['--variant=minbase', recipe.suite, rootfs, recipe.mirror], {
    timeoutMs: 20 * 60_000,
    onLine: (line) => {
      // debootstrap prints one line per package and phase; only the phase lines are worth showing.
      if (/^[IWE]: /.test(line) && !/^I: (Retrieving|Validating|Extracting|Unpacking|Configuring) \S+$/.test(line)) {
        progress('debootstrap', line.slice(3));
      }
    },
  });
}

async function copyParent(parent: string, from: string, rootfs: string, progress: TemplateProgress): Promise<void> {
  progress('copy', `from template ${parent}`);
  await fs.mkdir(path.dirname(rootfs), { recursive: true });
  // A full copy, not hard links: apt and dpkg rewrite some files in place (configuration, status).
  await runCommand('cp', ['-a', from, rootfs], { timeoutMs: 10 * 60_000 });
}

/** rename(2) of a directory cannot replace a non-empty one, so the old template is moved aside first. */
async function swapIntoPlace(work: string, target: string): Promise<void> {
  const retired = `${path.dirname(target)}/.retired-${path.basename(target)}-${Date.now()}`;
  const hadOld = await fs.rename(target, retired).then(
    () => true,
    () => false,
  );
  await fs.rename(work, target);
  // Sandboxes running on the old rootfs use it as their lower layer, and sandboxes paused on it
  // resume on it (template-builds.ts): it stays as `.retired-*`, to delete only once none is left.
  if (hadOld) await fs.writeFile(`${retired}/retired-at`, new Date().toISOString());
}

/** rm -rf that first unmounts anything left mounted inside (a crashed chroot step), and never deletes through a mount. */
async function removeWorkTree(dir: string): Promise<void> {
  await unmountTree([dir]);
  await removeTree(dir);
}
