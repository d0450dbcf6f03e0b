import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { newSandboxId } from '@sandboxd/common';
import { sandboxEnvdHelper, sandboxNode } from '../runc/oci-spec.js';
import { RuncRuntime } from '../runc/runc-runtime.js';
import { sandboxPaths } from '../runc/sandbox-paths.js';
import { needsSandboxHost } from '../testing/host-requirements.js';
import { createHarness, envdState, testLimits } from '../testing/runtime-fixture.js';
import { nativeDir } from './ensure-helpers.js';

/** The host files behind a sandbox's read-only binds of node and the envd helper, from its config.json. */
async function bindSources(stateDir: string, sandboxId: string): Promise<{ node: string; helper: string }> {
  const config = JSON.parse(await fs.readFile(sandboxPaths(stateDir, '/run/sandboxd', sandboxId).config, 'utf8')) as {
    mounts: Array<{ destination: string; source: string }>;
  };
  const source = (dest: string) => config.mounts.find((m) => m.destination === dest)?.source ?? '';
  return { node: source(sandboxNode), helper: source(sandboxEnvdHelper) };
}

const inode = async (p: string) => (await fs.stat(p)).ino;

test(
  'an upgrade of node or the envd helper never breaks the resume of a paused sandbox',
  needsSandboxHost,
  async (t) => {
    // A helpers dir, helper sources and a node binary of this test's own, so that it can "upgrade"
    // them; the helpers dir is world-traversable like /var/lib/sandboxd/helpers.
    const work = await fs.mkdtemp(path.join(os.tmpdir(), 'sandboxd-upgrade-'));
    t.after(() => fs.rm(work, { recursive: true, force: true }));
    const helpersDir = path.join(work, 'helpers');
    const sources = path.join(work, 'native');
    const nodeBinary = path.join(work, 'bin', 'node');
    await fs.chmod(work, 0o755);
    await fs.mkdir(helpersDir, { mode: 0o755 });
    await fs.cp(nativeDir, sources, { recursive: true });
    await fs.mkdir(path.dirname(nodeBinary));
    await fs.copyFile(process.execPath, nodeBinary);
    await fs.chmod(nodeBinary, 0o755);

    const h = await createHarness(t, { helpersDir, helperSourcesDir: sources, nodeBinary });
    const [{ endpoint }, { endpoint: other }] = await Promise.all([h.create(), h.create()]);
    const id = endpoint.sandboxId;
    const old = await bindSources(h.stateDir, id);
    assert.ok(old.node.startsWith(`${helpersDir}/node-`), `node is bound from a staged copy (${old.node})`);
    assert.ok(old.helper.startsWith(`${helpersDir}/envd-helper-`), `the helper is content-named (${old.helper})`);
    const oldInodes = [await inode(old.node), await inode(old.helper)];
    const before = await envdState(endpoint);
    await Promise.all([h.runtime.pause(id), h.runtime.pause(other.sandboxId, { memory: false })]);

    // The upgrade, as apt and a rebuilt checkout do it: new content renamed over the old paths.
    await fs.appendFile(path.join(sources, 'envd-helper.c'), '\n/* a new version */\n');
    const newNode = `${nodeBinary}.new`;
    await fs.copyFile(process.execPath, newNode);
    await fs.appendFile(newNode, 'a new version');
    await fs.chmod(newNode, 0o755);
    await fs.rename(newNode, nodeBinary);
    // A new server on the same data dir (what an upgrade restarts).
    const upgraded = new RuncRuntime(h.options);
    await upgraded.init();

    await t.test('the paused sandbox resumes from memory', async () => {
      const resumed = await upgraded.resume(id);
      const after = await envdState(resumed);
      assert.equal(after.secret, before.secret, 'the same envd process, memory intact');
      assert.deepEqual(await bindSources(h.stateDir, id), old, 'a restore keeps the files it was dumped with');
      assert.deepEqual([await inode(old.node), await inode(old.helper)], oldInodes, 'never rewritten');
    });

    await t.test('a new sandbox uses the new versions', async (tt) => {
      const fresh = await upgraded.create({
        sandboxId: newSandboxId(),
        templateId: 'base',
        limits: testLimits,
        envdEnv: {},
      });
      tt.after(() => upgraded.kill(fresh.sandboxId));
      const now = await bindSources(h.stateDir, fresh.sandboxId);
      assert.notEqual(now.node, old.node);
      assert.notEqual(now.helper, old.helper);
      assert.ok(now.node.startsWith(`${helpersDir}/node-`));
      const inside = await h.exec(fresh.sandboxId, `tail -c 13 ${sandboxNode}`);
      assert.equal(inside.stdout, 'a new version');
    });

    await t.test('a cold boot of an old sandbox moves it to the new versions', async () => {
      assert.deepEqual(await bindSources(h.stateDir, other.sandboxId), old);
      await upgraded.resume(other.sandboxId);
      const now = await bindSources(h.stateDir, other.sandboxId);
      assert.notEqual(now.node, old.node);
      assert.notEqual(now.helper, old.helper);
    });
  },
);
