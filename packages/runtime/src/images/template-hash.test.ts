import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { templateHash } from './template-hash.js';
import { baseRecipe, recipeHash, type TemplateRecipe } from './template-recipe.js';

async function checkout(t: import('node:test').TestContext, content: string): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'template-hash-'));
  t.after(() => fs.rm(dir, { recursive: true, force: true }));
  await fs.mkdir(path.join(dir, 'pkg', '__pycache__'), { recursive: true });
  await fs.writeFile(path.join(dir, 'pkg', 'server.py'), content);
  return path.join(dir, 'pkg');
}

const withFiles = (source: string): TemplateRecipe => ({
  ...baseRecipe,
  from: 'base',
  files: [{ source, target: '/opt/app' }],
});

test('a template hash follows what its files hold, not which checkout they come from', async (t) => {
  const a = await checkout(t, 'print(1)\n');
  const b = await checkout(t, 'print(1)\n');
  const changed = await checkout(t, 'print(2)\n');
  const hashA = await templateHash(withFiles(a), 'parent');
  assert.equal(await templateHash(withFiles(b), 'parent'), hashA, 'same content elsewhere: same hash');
  assert.notEqual(await templateHash(withFiles(changed), 'parent'), hashA, 'changed content: new hash');
  assert.notEqual(await templateHash(withFiles(a), 'other-parent'), hashA, 'rebuilt parent: new hash');
  // Byte-code caches are neither copied nor hashed.
  await fs.writeFile(path.join(a, '__pycache__', 'server.cpython-311.pyc'), 'junk');
  assert.equal(await templateHash(withFiles(a), 'parent'), hashA);
});

test('a recipe without parent or files keeps its plain recipe hash (existing builds stay current)', async () => {
  assert.equal(await templateHash(baseRecipe), recipeHash(baseRecipe));
});
