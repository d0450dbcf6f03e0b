import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { needsSandboxHost } from '../testing/host-requirements.js';
import { createHarness } from '../testing/runtime-fixture.js';
import { isTemplateCurrent } from './build-template.js';
import { defaultTemplatesDir, templateRootfs } from './template-paths.js';

test('the base template: what agents expect of E2B’s, and nothing shared', needsSandboxHost, async (t) => {
  assert.ok(
    await isTemplateCurrent('base', defaultTemplatesDir),
    'the base template is older than its recipe: run `npm run setup` to rebuild it',
  );
  const h = await createHarness(t, { templatesDir: defaultTemplatesDir });
  const { endpoint } = await h.create();

  await t.test('python and python3 are both Python 3', async () => {
    for (const user of ['1000:1000', undefined]) {
      const r = await h.exec(endpoint.sandboxId, 'python --version && python3 --version', user);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^Python 3\.\d+\.\d+\nPython 3\.\d+\.\d+\n$/);
    }
  });

  await t.test('the template ships no machine id (each sandbox gets its own)', async () => {
    const rootfs = templateRootfs(defaultTemplatesDir, 'base');
    for (const file of ['etc/machine-id', 'var/lib/dbus/machine-id']) {
      assert.equal(await fs.stat(path.join(rootfs, file)).catch(() => undefined), undefined, file);
    }
  });
});
