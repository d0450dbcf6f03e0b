import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { needsSandboxHost } from '@sandboxd/runtime/testing';
import { Sandbox } from 'e2b';
import { sandboxLeftovers } from '../support/host-resources.js';
import { startTestServer, type TestServer } from '../support/server-harness.js';

// The server is SIGKILLed (SANDBOXD_FAULT_CRASH_AT) just before one step of a create, pause,
// resume or kill, as a power cut would. A new server on the same data dir must then report each
// sandbox as it really is — running (and envd answers), paused (and it resumes), or gone (and
// nothing of it is left on the host) — and a kill afterwards leaves nothing behind.
// A representative step per phase runs by default; SANDBOXD_FAULT_STEPS=all runs every step.

type Op = 'create' | 'pause' | 'resume' | 'kill';
/** What the next server must find: what the crash left, never a state the host does not have. */
type Found = 'running' | 'paused' | 'gone';

// Before the dump a pause has taken nothing (the sandbox is thawed and runs on); after it the
// processes are gone and an uncommitted image is not trusted (killed, with a `killed` event that
// says why). A resume keeps its images until it commits, so it is paused, or running once restored.
const ciSteps: Array<[Op, string, Found]> = [
  ['create', 'rootfs', 'gone'],
  ['create', 'runc-run', 'gone'],
  ['create', 'health', 'gone'],
  ['pause', 'pause:checkpoint', 'running'],
  ['pause', 'pause:flush', 'gone'],
  ['pause', 'pause:commit', 'gone'],
  ['resume', 'resume:restore', 'paused'],
  ['resume', 'resume:commit', 'running'],
  ['kill', 'teardown:unmount', 'gone'],
  ['kill', 'teardown:slot', 'gone'],
];
const moreSteps: Array<[Op, string, Found]> = [
  ['create', 'state-dir', 'gone'],
  ['create', 'slot', 'gone'],
  ['create', 'files', 'gone'],
  ['pause', 'pause:freeze', 'running'],
  ['pause', 'pause:images-dir', 'running'],
  ['pause', 'pause:release', 'gone'],
  ['resume', 'resume:slot', 'paused'],
  ['resume', 'resume:config', 'paused'],
  ['resume', 'resume:health', 'running'],
  ['kill', 'teardown:container', 'gone'],
  ['kill', 'teardown:loop', 'gone'],
  ['kill', 'teardown:veth', 'gone'],
  ['kill', 'teardown:cgroups', 'gone'],
  ['kill', 'teardown:dirs', 'gone'],
];
const steps = process.env.SANDBOXD_FAULT_STEPS === 'all' ? [...ciSteps, ...moreSteps] : ciSteps;

/** The server's own word on which sandbox it was working on when it died. */
function crashedSandbox(server: TestServer, step: string): string {
  for (const line of server.logs) {
    try {
      const entry = JSON.parse(line) as { msg?: string; step?: string; sandboxId?: string };
      if (entry.msg === 'fault injection: SIGKILL' && entry.step === step && entry.sandboxId) return entry.sandboxId;
    } catch {
      // not a log line
    }
  }
  throw new Error(`the server did not reach ${step}:\n${server.logs.slice(-20).join('\n')}`);
}

async function exitSignal(server: TestServer): Promise<string | null> {
  const child = server.process;
  if (child.exitCode === null && child.signalCode === null) {
    await new Promise((resolve) => child.once('exit', resolve));
  }
  return child.signalCode;
}

/** Nothing of `id` on the host: no container, process, mount, loop device, cgroup or slot claim. */
async function assertGone(server: TestServer, id: string, when: string): Promise<void> {
  assert.deepEqual(
    await sandboxLeftovers(server.dataDir, id),
    { containers: [], processes: [], mounts: [], loopDevices: [], cgroups: [], slots: [] },
    `${when}: something of ${id} is left`,
  );
}

describe('SIGKILL of the server at each step of create, pause, resume and kill', needsSandboxHost, () => {
  for (const [op, step, expected] of steps) {
    test(`${op}, killed before ${step}: the next server finds it ${expected}, and nothing is left`, async (t) => {
      const env = { SANDBOXD_WARM_POOL: '0' };
      const first = await startTestServer({ env: { ...env, SANDBOXD_FAULT_CRASH_AT: step } });
      let second: TestServer | undefined;
      t.after(() => (second ?? first).stop());

      let id: string | undefined;
      if (op !== 'create') {
        const made = await first.api('POST', '/v2/sandboxes', { templateID: 'base', timeout: 300 });
        id = ((await made.json()) as { sandboxID: string }).sandboxID;
        if (op === 'resume') assert.equal((await first.api('POST', `/sandboxes/${id}/pause`, {})).status, 204);
      }
      const trigger =
        op === 'create'
          ? first.api('POST', '/v2/sandboxes', { templateID: 'base', timeout: 300 })
          : op === 'pause'
            ? first.api('POST', `/sandboxes/${id}/pause`, {})
            : op === 'resume'
              ? first.api('POST', `/sandboxes/${id}/connect`, { timeout: 300 })
              : first.api('DELETE', `/sandboxes/${id}`);
      await assert.rejects(trigger, 'the request dies with the server');
      assert.equal(await exitSignal(first), 'SIGKILL');
      id = crashedSandbox(first, step);

      second = await startTestServer({ reuseDataDir: first.dataDir, apiKey: first.apiKey, env });
      const res = await second.api('GET', `/sandboxes/${id}`);
      const state = res.status === 404 ? 'gone' : ((await res.json()) as { state: string }).state;
      t.diagnostic(`${step}: ${state}`);
      assert.equal(state === 'gone' ? 'gone' : state, expected);
      if (state === 'gone') {
        await assertGone(second, id, 'reported gone');
      } else {
        // Reported alive: it must be. A paused one resumes; either way envd runs a command.
        second.useForE2b();
        const sbx = await Sandbox.connect(id);
        assert.equal((await sbx.commands.run('echo alive')).stdout, 'alive\n', `reported ${state}`);
        if (op === 'pause') {
          // The interrupted pause left nothing in the way of the next one.
          assert.equal(await sbx.pause(), true);
          const again = await Sandbox.connect(id);
          assert.equal((await again.commands.run('echo back')).stdout, 'back\n');
        }
        assert.equal(await sbx.kill(), true);
        await assertGone(second, id, 'killed after the restart');
      }
      assert.equal((await second.api('GET', `/sandboxes/${id}`)).status, 404);
    });
  }
});
