import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { runCommand } from '../process/run-command.js';
import { readRecord } from '../runc/sandbox-record.js';
import { needsSandboxHost } from '../testing/host-requirements.js';
import { createHarness, envdState } from '../testing/runtime-fixture.js';
import { defaultTemplatesDir, templateRootfs } from './template-paths.js';

/** A template build of our own: a hard-linked copy of the machine's base (cheap), with its marker. */
async function makeBuild(templatesDir: string, dir: string, recipeHash: string, builtAt: string): Promise<void> {
  await fs.mkdir(path.join(templatesDir, dir));
  await runCommand('cp', ['-al', templateRootfs(defaultTemplatesDir, 'base'), path.join(templatesDir, dir, 'rootfs')]);
  await fs.writeFile(
    path.join(templatesDir, dir, 'template.json'),
    JSON.stringify({ name: 'base', recipeHash, builtAt }),
  );
}

test('a template rebuild does not strand the sandboxes paused on the old build', needsSandboxHost, async (t) => {
  const templatesDir = await fs.mkdtemp(path.join(os.tmpdir(), 'sandboxd-templates-'));
  await fs.chmod(templatesDir, 0o755);
  await makeBuild(templatesDir, 'base', 'old', '2026-01-01T00:00:00.000Z');
  const h = await createHarness(t, { templatesDir });
  const made: string[] = [];
  t.after(async () => {
    // The sandboxes first: their lower layers are these builds.
    await Promise.allSettled(made.map((id) => h.runtime.kill(id)));
    await fs.rm(templatesDir, { recursive: true, force: true });
  });
  const memory = await h.create();
  const disk = await h.create();
  made.push(memory.endpoint.sandboxId, disk.endpoint.sandboxId);
  const before = await envdState(memory.endpoint);
  await h.runtime.pause(memory.endpoint.sandboxId);
  await h.runtime.pause(disk.endpoint.sandboxId, { memory: false });

  // What buildTemplate's swap does: the old build moves aside, a new one takes its place.
  await fs.rename(path.join(templatesDir, 'base'), path.join(templatesDir, '.retired-base-1'));
  await makeBuild(templatesDir, 'base', 'new', '2026-02-01T00:00:00.000Z');

  await t.test('a memory-paused sandbox resumes on the build it was made on', async () => {
    const resumed = await h.runtime.resume(memory.endpoint.sandboxId);
    assert.equal((await envdState(resumed)).secret, before.secret);
  });

  await t.test('a disk-paused sandbox boots on the build it was made on', async () => {
    await h.runtime.resume(disk.endpoint.sandboxId);
    const r = await h.exec(disk.endpoint.sandboxId, 'cat /etc/hostname');
    assert.equal(r.code, 0, r.stderr);
  });

  await t.test('a new sandbox is made on the new build', async () => {
    const fresh = await h.create();
    made.push(fresh.endpoint.sandboxId);
    assert.equal(fresh.record.templateBuild, 'new@2026-02-01T00:00:00.000Z');
    const old = await readRecord(path.join(h.stateDir, 'sandboxes', memory.endpoint.sandboxId));
    assert.equal(old?.templateBuild, 'old@2026-01-01T00:00:00.000Z');
  });
});
