import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { SandboxdError } from '@sandboxd/common';
import { resolveTemplate } from './resolve-template.js';

async function templatesDirWith(t: import('node:test').TestContext, built: string[]): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'resolve-template-'));
  t.after(() => fs.rm(dir, { recursive: true, force: true }));
  for (const name of built) {
    await fs.mkdir(path.join(dir, name, 'rootfs'), { recursive: true });
    await fs.writeFile(path.join(dir, name, 'template.json'), JSON.stringify({ name, recipeHash: 'x', builtAt: 'y' }));
  }
  return dir;
}

function rejectsWith(code: string, pattern: RegExp) {
  return (err: unknown) => {
    assert.ok(SandboxdError.is(err), String(err));
    assert.equal(err.code, code);
    assert.match(err.message, pattern);
    return true;
  };
}

test('a built template resolves to itself, an alias to its target', async (t) => {
  const dir = await templatesDirWith(t, ['base', 'code-interpreter-v1']);
  assert.equal(await resolveTemplate(dir, 'base'), 'base');
  assert.equal(await resolveTemplate(dir, 'code-interpreter-v1'), 'code-interpreter-v1');
  assert.equal(await resolveTemplate(dir, 'code-interpreter'), 'code-interpreter-v1');
});

test('a built-in template that is not built says how to build it', async (t) => {
  const dir = await templatesDirWith(t, ['base']);
  await assert.rejects(
    resolveTemplate(dir, 'python-data-science'),
    rejectsWith('TEMPLATE_NOT_BUILT', /sandboxd template build python-data-science/),
  );
  await assert.rejects(
    resolveTemplate(dir, 'code-interpreter'),
    rejectsWith('TEMPLATE_NOT_BUILT', /'code-interpreter' is not built .*sandboxd template build code-interpreter-v1/),
  );
});

test('an unknown, or an invalid, template name is not found', async (t) => {
  const dir = await templatesDirWith(t, ['base']);
  await assert.rejects(resolveTemplate(dir, 'no-such-template'), rejectsWith('TEMPLATE_NOT_FOUND', /not found/));
  await assert.rejects(resolveTemplate(dir, '../etc'), rejectsWith('TEMPLATE_NOT_FOUND', /not found/));
  // Names of Object.prototype's members are not built-in templates.
  await assert.rejects(resolveTemplate(dir, 'constructor'), rejectsWith('TEMPLATE_NOT_FOUND', /not found/));
  // A half-built directory (no marker) is not a template.
  await fs.mkdir(path.join(dir, 'half', 'rootfs'), { recursive: true });
  await assert.rejects(resolveTemplate(dir, 'half'), rejectsWith('TEMPLATE_NOT_FOUND', /not found/));
});
