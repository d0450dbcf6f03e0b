/**
 * The runner must work on the Node the sandbox has (Debian 12's nodejs 18), not only on the host's.
 * The built base template's rootfs has that Node: the bundle is bind-mounted into it inside a
 * private mount namespace (nothing changes outside this test) and run there with chroot.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildTempBundle, errorOf, RunnerProcess, resultText } from './runner-harness.js';

const templatesDir = process.env.SANDBOXD_TEMPLATES_DIR ?? '/var/lib/sandboxd/templates';
const rootfs = path.join(templatesDir, 'base', 'rootfs');

function whyNot(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (mount namespace and chroot)';
  if (!fs.existsSync(path.join(templatesDir, 'base', 'template.json')))
    return `no built base template in ${templatesDir}`;
  if (!fs.existsSync(path.join(rootfs, 'usr/bin/node'))) return 'the base template has no /usr/bin/node';
  if (spawnSync('unshare', ['--version']).status !== 0) return 'unshare (util-linux) is missing';
  return undefined;
}
const skip = whyNot();

describe('the bundle on Debian 12 nodejs 18', skip ? { skip } : {}, () => {
  let bundle: Awaited<ReturnType<typeof buildTempBundle>>;
  let runner: RunnerProcess;

  before(async () => {
    bundle = await buildTempBundle();
    const script = 'mount --bind "$1" "$2/mnt" && cd "$2" && exec chroot "$2" /usr/bin/node /mnt/js-runner.mjs';
    runner = new RunnerProcess('unshare', [
      '--mount',
      '--propagation',
      'private',
      'sh',
      '-c',
      script,
      'sh',
      bundle.dir,
      rootfs,
    ]);
  });

  after(async () => {
    await runner?.stop();
    bundle?.dispose();
  });

  test('it is Node 18 that runs it', async () => {
    assert.match(resultText(await runner.run('process.version')) ?? '', /^'v18\./);
  });

  test('state, top-level await, imports and results', async () => {
    await runner.run("let n = 1; const text = 'x'; class C { v() { return 2 } }");
    assert.equal(resultText(await runner.run('const later = await Promise.resolve(n + new C().v()); later')), '3');
    assert.equal(resultText(await runner.run("import { join } from 'node:path'; join(text, String(later))")), "'x/3'");
    assert.equal(
      resultText(await runner.run("(await import('node:os')).platform() + require('util').inspect([1])")),
      "'linux[ 1 ]'",
    );
  });

  test('streaming, errors and TypeScript', async () => {
    const events = await runner.run("console.log('out'); console.error('err'); await null; throw new TypeError('bad')");
    assert.deepEqual(
      events.map((event) => event.type),
      ['stdout', 'stderr', 'error', 'done'],
    );
    assert.deepEqual([errorOf(events)?.name, errorOf(events)?.value], ['TypeError', 'bad']);
    const ts = await runner.run('const typed: number = 4; enum E { A = 1 }; typed + E.A', { language: 'typescript' });
    assert.equal(resultText(ts), '5');
  });

  test('SIGINT interrupts a loop and the context survives', async () => {
    const id = runner.send("console.log('spin'); while (true) {}");
    await runner.waitFor((events) => events.some((event) => event.id === id && event.type === 'stdout'));
    runner.child.kill('SIGINT');
    assert.equal(errorOf(await runner.eventsOf(id))?.name, 'KeyboardInterrupt');
    assert.equal(resultText(await runner.run('n')), '1');
  });
});
