import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { needsSandboxHost } from '@sandboxd/runtime/testing';
import { Sandbox as SdkSandbox } from '@sandboxd/sdk';
import { CommandExitError, Sandbox as E2bSandbox, FileType } from 'e2b';
import { startTestServer, type TestServer } from '../support/server-harness.js';

/** What a client observes of one lifecycle/files/commands scenario, without IDs and times. */
async function scenario(S: typeof E2bSandbox, tag: string): Promise<unknown[]> {
  const seen: unknown[] = [];
  const sbx = await S.create({ timeoutMs: 120_000, metadata: { parity: tag } });
  try {
    const info = await sbx.getInfo();
    seen.push(['info', info.templateId, info.name, info.metadata.parity === tag, info.state]);
    seen.push(['run', await sbx.commands.run('echo out; echo err >&2')]);
    const failed = await sbx.commands.run('exit 7').catch((err: unknown) => err);
    seen.push(['exit', failed instanceof CommandExitError, (failed as CommandExitError).exitCode]);
    seen.push(['write', (await sbx.files.write('dir/a.txt', 'alpha')).path]);
    seen.push(['read', await sbx.files.read('dir/a.txt')]);
    const entries = await sbx.files.list('dir');
    seen.push(['list', entries.map((e) => [e.name, e.type === FileType.FILE, e.size])]);
    seen.push(['exists', await sbx.files.exists('dir/a.txt'), await sbx.files.exists('dir/none')]);
    await sbx.files.remove('dir/a.txt');
    seen.push(['removed', await sbx.files.exists('dir/a.txt')]);
    const bg = await sbx.commands.run('sleep 100', { background: true });
    seen.push(['bg listed', (await sbx.commands.list()).some((p) => p.pid === bg.pid)]);
    seen.push(['bg kill', await sbx.commands.kill(bg.pid)]);
    const page = await S.list({ query: { metadata: { parity: tag } } }).nextItems();
    seen.push(['listed', page.map((s) => s.sandboxId === sbx.sandboxId)]);
    await sbx.files.write('/home/user/kept.txt', 'kept');
    seen.push(['pause', await sbx.pause(), (await sbx.getInfo()).state]);
    const again = await S.connect(sbx.sandboxId);
    seen.push(['resumed', (await again.getInfo()).state, await again.files.read('/home/user/kept.txt')]);
    await again.setTimeout(60_000);
    seen.push(['setTimeout', Math.round(((await again.getInfo()).endAt.getTime() - Date.now()) / 10_000)]);
  } finally {
    seen.push(['kill', await sbx.kill(), await sbx.kill()]);
  }
  const gone = await sbx.getInfo().catch((err: unknown) => err);
  seen.push(['after kill', (gone as Error).name]);
  return seen;
}

// The same scenario through the official client and through @sandboxd/sdk: what they observe is
// identical, so the SDK's additions change nothing of e2b's behaviour.
describe('e2b and @sandboxd/sdk observe the same lifecycle, files and commands', needsSandboxHost, () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
    server.useForE2b();
  });
  after(() => server?.stop());

  test('one scenario, two clients, equal transcripts', async () => {
    const official = await scenario(E2bSandbox, 'e2b');
    const ours = await scenario(SdkSandbox, 'sdk');
    assert.deepEqual(ours, official);
    assert.deepEqual(official.at(-1), ['after kill', 'SandboxNotFoundError']);
    for (const step of [
      ['listed', [true]],
      ['pause', true, 'paused'],
      ['resumed', 'running', 'kept'],
      ['kill', true, false],
    ]) {
      assert.ok(
        official.some((s) => JSON.stringify(s) === JSON.stringify(step)),
        `transcript has ${JSON.stringify(step)}`,
      );
    }
  });
});
