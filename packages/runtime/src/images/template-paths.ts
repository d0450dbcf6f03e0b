import fs from 'node:fs/promises';
import path from 'node:path';
import { isTemplateId, SandboxdError } from '@sandboxd/common';
import type { ReadyCheck, StartCommand } from './template-recipe.js';

/**
 * Layout of the machine-wide template store, shared by every sandboxd server on the machine:
 *   <templatesDir>/<name>/rootfs         the read-only root filesystem (overlay lower layer)
 *   <templatesDir>/<name>/template.json  marker: recipe hash + build time; present only when complete
 * A directory without the marker is never used (a build is renamed into place only once finished).
 */
export const defaultTemplatesDir = '/var/lib/sandboxd/templates';
export const templateMarkerName = 'template.json';

export interface TemplateMarker {
  name: string;
  recipeHash: string;
  builtAt: string;
  /** What envd starts at every boot, and the check that says it is up (see template-recipe.ts). */
  start?: StartCommand;
  ready?: ReadyCheck;
}

function templateDir(templatesDir: string, name: string): string {
  if (!isTemplateId(name)) throw new SandboxdError('TEMPLATE_NOT_FOUND', `invalid template name ${name}`);
  return path.join(templatesDir, name);
}

export function templateRootfs(templatesDir: string, name: string): string {
  return path.join(templateDir(templatesDir, name), 'rootfs');
}

export function templateMarkerPath(templatesDir: string, name: string): string {
  return path.join(templateDir(templatesDir, name), templateMarkerName);
}

export async function readTemplateMarker(templatesDir: string, name: string): Promise<TemplateMarker | undefined> {
  try {
    return JSON.parse(await fs.readFile(templateMarkerPath(templatesDir, name), 'utf8')) as TemplateMarker;
  } catch {
    return undefined;
  }
}

/** True when the template's rootfs is complete (its marker exists and the rootfs is a directory). */
export async function isTemplateBuilt(templatesDir: string, name: string): Promise<boolean> {
  if (!isTemplateId(name)) return false;
  const marker = await readTemplateMarker(templatesDir, name);
  if (!marker) return false;
  const stat = await fs.stat(templateRootfs(templatesDir, name)).catch(() => undefined);
  return stat?.isDirectory() ?? false;
}
