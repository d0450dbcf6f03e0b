import fs from 'node:fs/promises';
import path from 'node:path';
import { readTemplateMarker, type TemplateMarker, templateMarkerName, templateRootfs } from './template-paths.js';
import type { ReadyCheck, StartCommand } from './template-recipe.js';

/**
 * Which build of a template a sandbox runs on. A rebuild (a changed recipe) swaps a new rootfs in
 * and keeps the old one as `<templatesDir>/.retired-<name>-<time>/`; a sandbox made on the old one
 * must resume on it: its overlay's upper dir records the lower layer it was made on, and the
 * kernel refuses to mount it on another ("failed to verify upper root origin"). So a sandbox
 * records its build, and resume looks for it among the current and the retired ones.
 */
export function templateBuildId(marker: Pick<TemplateMarker, 'recipeHash' | 'builtAt'>): string {
  return `${marker.recipeHash}@${marker.builtAt}`;
}

export interface TemplateBuild {
  rootfs: string;
  build: string;
  /** The start command and ready check the build was made with. */
  start?: StartCommand;
  ready?: ReadyCheck;
}

/** The template's current build: its rootfs, id and start command, or undefined when it is not built. */
export async function currentTemplateBuild(templatesDir: string, name: string): Promise<TemplateBuild | undefined> {
  const rootfs = templateRootfs(templatesDir, name);
  const [marker, isDir] = await Promise.all([
    readTemplateMarker(templatesDir, name),
    fs.stat(rootfs).then(
      (s) => s.isDirectory(),
      () => false,
    ),
  ]);
  if (!marker || !isDir) return undefined;
  return {
    rootfs,
    build: templateBuildId(marker),
    ...(marker.start ? { start: marker.start } : {}),
    ...(marker.ready ? { ready: marker.ready } : {}),
  };
}

/**
 * The rootfs of build `build` of template `name`: the current one if it is that build, else the
 * retired one that is; undefined when it is gone. A sandbox that recorded no build (made before
 * builds were recorded) gets the current rootfs.
 */
export async function templateBuildRootfs(
  templatesDir: string,
  name: string,
  build: string | undefined,
): Promise<string | undefined> {
  const current = await currentTemplateBuild(templatesDir, name);
  if (!build || current?.build === build) return current?.rootfs;
  const retired = (await fs.readdir(templatesDir).catch(() => [] as string[])).filter((d) =>
    d.startsWith(`.retired-${name}-`),
  );
  for (const dir of retired) {
    const marker = await fs
      .readFile(path.join(templatesDir, dir, templateMarkerName), 'utf8')
      .then((text) => JSON.parse(text) as TemplateMarker)
      .catch(() => undefined);
    if (marker && templateBuildId(marker) === build) return path.join(templatesDir, dir, 'rootfs');
  }
  return undefined;
}
