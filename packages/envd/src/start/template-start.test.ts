import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { makeTempDir, needsRoot, startEnvd } from '../testing/envd-harness.js';

async function readyAnswer(url: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`${url}/ready`);
  return { status: res.status, body: await res.text() };
}

async function waitFor(url: string, status: number): Promise<{ status: number; body: string }> {
  for (let i = 0; i < 200; i++) {
    const answer = await readyAnswer(url);
    if (answer.status === status) return answer;
    await sleep(50);
  }
  throw new Error(`/ready never answered ${status}`);
}

test('an envd without a start command is ready at once', needsRoot, async (t) => {
  const envd = await startEnvd(t);
  assert.equal((await readyAnswer(envd.url)).status, 204);
});

test(
  'the start command runs as its user in its cwd with its env; /ready waits for the ready check',
  needsRoot,
  async (t) => {
    const dir = makeTempDir(t, 'envd-start-');
    fs.chmodSync(dir, 0o777);
    const flag = path.join(dir, 'ready-flag');
    const envd = await startEnvd(t, {
      initToken: 'pool-secret-0123456789abcdef',
      start: {
        start: {
          // Held back until the test says so: the ready check must not pass before.
          cmd: `while [ ! -f ${dir}/go ]; do sleep 0.05; done; id -un > ${dir}/who; pwd > ${dir}/where; echo "$GREETING" > ${dir}/env; touch ${flag}; exec sleep 600`,
          user: 'nobody',
          cwd: dir,
          env: { GREETING: 'hello from start' },
        },
        ready: { cmd: `test -f ${flag}`, timeoutMs: 30_000 },
      },
    });
    const early = await readyAnswer(envd.url);
    assert.equal(early.status, 503, 'not ready before the check passes, even for an unowned (pool) sandbox');
    assert.equal(JSON.parse(early.body).message, 'the template start command is not ready yet');
    fs.writeFileSync(path.join(dir, 'go'), '');
    await waitFor(envd.url, 204);
    assert.equal(fs.readFileSync(path.join(dir, 'who'), 'utf8').trim(), 'nobody');
    assert.equal(fs.readFileSync(path.join(dir, 'where'), 'utf8').trim(), dir);
    assert.equal(fs.readFileSync(path.join(dir, 'env'), 'utf8').trim(), 'hello from start');
  },
);

test('a start command that exits answers START_FAILED with its exit and output', needsRoot, async (t) => {
  const envd = await startEnvd(t, {
    start: {
      start: { cmd: 'echo "port 49999 is taken" >&2; exit 3', user: 'root', cwd: '/' },
      ready: { cmd: 'false', timeoutMs: 30_000 },
    },
  });
  const failed = await waitFor(envd.url, 502);
  const { message } = JSON.parse(failed.body) as { message: string };
  assert.match(message, /the start command ended \(exit status 3\)/);
  assert.match(message, /port 49999 is taken/);
});

test('a ready check that never passes fails after its timeout', needsRoot, async (t) => {
  const envd = await startEnvd(t, {
    start: { start: { cmd: 'exec sleep 600', user: 'root', cwd: '/' }, ready: { cmd: 'false', timeoutMs: 300 } },
  });
  const failed = await waitFor(envd.url, 502);
  assert.match(JSON.parse(failed.body).message, /did not pass within 300 ms/);
});
