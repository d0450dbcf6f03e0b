import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { SandboxdError } from '@sandboxd/common';
import { recipeHash, type TemplateRecipe } from './template-recipe.js';

/** Never copied into a template, never part of its hash: Python's byte-code caches. */
export function isBuildJunk(name: string): boolean {
  return name === '__pycache__' || name.endsWith('.pyc');
}

/**
 * The hash a template's marker carries: its recipe, its parent's full hash (a rebuilt parent
 * rebuilds its children) and the content of the files it copies in (an edited interpreter
 * source rebuilds code-interpreter-v1).
 */
export async function templateHash(recipe: TemplateRecipe, parentHash?: string): Promise<string> {
  // Where a file is copied from (which checkout) is not part of the template, only what it holds.
  const located = recipe.files ? { ...recipe, files: recipe.files.map((f) => ({ target: f.target })) } : recipe;
  const hash = createHash('sha256').update(recipeHash(located as TemplateRecipe));
  if (parentHash) hash.update(`\0parent:${parentHash}`);
  for (const file of recipe.files ?? []) {
    hash.update(`\0file:${file.target}\0`);
    await hashTree(file.source, hash);
  }
  // A recipe with neither parent nor files keeps its plain recipe hash: existing builds stay current.
  return parentHash || recipe.files?.length ? hash.digest('hex').slice(0, 16) : recipeHash(recipe);
}

async function hashTree(source: string, hash: ReturnType<typeof createHash>): Promise<void> {
  const stat = await fs.stat(source).catch(() => undefined);
  if (!stat) throw new SandboxdError('RUNTIME_FAILED', `template file ${source} does not exist`);
  if (stat.isFile()) {
    hash.update(await fs.readFile(source));
    return;
  }
  const entries = (await fs.readdir(source)).filter((e) => !isBuildJunk(e)).sort();
  for (const entry of entries) {
    hash.update(`\0${entry}\0`);
    await hashTree(path.join(source, entry), hash);
  }
}
