/** process.Process driven by the official e2b SDK against the real envd bundle. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { CommandExitError, InvalidArgumentError, NotFoundError, type Sandbox, TimeoutError } from 'e2b';
import { needsRoot, startSandbox } from '../../testing/envd-harness.js';

async function isAlive(sandbox: Sandbox, pid: number): Promise<boolean> {
  const result = await sandbox.commands.run(`kill -0 ${pid} 2>/dev/null && echo alive || echo gone`);
  return result.stdout.trim() === 'alive';
}

/** Polls because a SIGKILL is delivered asynchronously; gives up after ~10 s. */
async function eventuallyGone(sandbox: Sandbox, pid: number): Promise<boolean> {
  for (let i = 0; i < 50; i++) {
    if (!(await isAlive(sandbox, pid))) return true;
    await sleep(200);
  }
  return false;
}

test('run returns stdout, stderr and exit code 0', needsRoot, async (t) => {
  const { sandbox } = await startSandbox(t);
  const result = await sandbox.commands.run('echo out; echo err >&2');
  assert.equal(result.exitCode, 0);
  assert.equal(result.stdout, 'out\n');
  assert.equal(result.stderr, 'err\n');
});

test('a non-zero exit throws CommandExitError carrying the code and output', needsRoot, async (t) => {
  const { sandbox } = await startSandbox(t);
  const err = await sandbox.commands.run('echo partial; exit 3').catch((e: unknown) => e);
  assert.ok(err instanceof CommandExitError);
  assert.equal(err.exitCode, 3);
  assert.equal(err.error, 'exit status 3');
  assert.equal(err.stdout, 'partial\n');
});

test('env: sandbox-wide envVars, then request envs win; envd’s own env never leaks', needsRoot, async (t) => {
  const { sandbox } = await startSandbox(t, { envVars: { FOO: 'sandbox', BAR: 'sandbox' } });
  const result = await sandbox.commands.run('echo "$FOO $BAR $HOME $USER $' + '{SANDBOXD_ENVD_CONFIG:-unset}"', {
    envs: { BAR: 'request' },
  });
  assert.equal(result.stdout, 'sandbox request /root root unset\n');
});

test('cwd: defaults to the workdir, honours the request, rejects a missing one', needsRoot, async (t) => {
  const { sandbox, envd } = await startSandbox(t);
  assert.equal((await sandbox.commands.run('pwd')).stdout.trim(), fs.realpathSync(envd.workdir));
  const sub = path.join(envd.workdir, 'sub');
  fs.mkdirSync(sub);
  assert.equal((await sandbox.commands.run('pwd', { cwd: sub })).stdout.trim(), fs.realpathSync(sub));
  await assert.rejects(sandbox.commands.run('pwd', { cwd: path.join(envd.workdir, 'missing') }), InvalidArgumentError);
});

test('runs as the requested user with their groups', needsRoot, async (t) => {
  const { sandbox } = await startSandbox(t);
  const result = await sandbox.commands.run('id -u; id -g; echo $HOME', { user: 'nobody' as 'user' });
  const [uid, gid] = result.stdout.split('\n');
  assert.equal(uid, '65534');
  assert.notEqual(gid, '0');
  const unknown = await sandbox.commands.run('true', { user: 'no-such-user' as 'user' }).catch((e: unknown) => e);
  assert.ok(unknown instanceof Error && /invalid username/.test(unknown.message), String(unknown));
});

test('background command: list, connect by pid, kill; the pid is the real one', needsRoot, async (t) => {
  const { sandbox } = await startSandbox(t);
  const handle = await sandbox.commands.run('sleep 30', { background: true, timeoutMs: 0 });
  assert.ok(await isAlive(sandbox, handle.pid));
  const listed = await sandbox.commands.list();
  assert.ok(listed.some((p) => p.pid === handle.pid && p.args.includes('sleep 30')));

  const attached = await sandbox.commands.connect(handle.pid);
  assert.equal(await sandbox.commands.kill(handle.pid), true);
  const ended = await attached.wait().catch((e: unknown) => e);
  assert.ok(ended instanceof CommandExitError);
  assert.equal(ended.exitCode, -1);
  assert.equal(ended.error, 'signal: killed');
  await handle.wait().catch(() => {});
  assert.ok(await eventuallyGone(sandbox, handle.pid));
  assert.equal(await sandbox.commands.kill(handle.pid), false);
});

test('disconnecting does not kill; a later connect sees new output and the exit code', needsRoot, async (t) => {
  const { sandbox } = await startSandbox(t);
  const handle = await sandbox.commands.run('sleep 1; echo late; exit 4', { background: true });
  await handle.disconnect();
  const attached = await sandbox.commands.connect(handle.pid);
  const err = await attached.wait().catch((e: unknown) => e);
  assert.ok(err instanceof CommandExitError);
  assert.equal(err.exitCode, 4);
  assert.equal(err.stdout, 'late\n');

  // After the end, Connect still learns how it ended.
  const afterEnd = await sandbox.commands.connect(handle.pid);
  const again = await afterEnd.wait().catch((e: unknown) => e);
  assert.ok(again instanceof CommandExitError);
  assert.equal(again.exitCode, 4);
});

test('connect to an unknown pid is not_found', needsRoot, async (t) => {
  const { sandbox } = await startSandbox(t);
  const err = await sandbox.commands.connect(999_999).catch((e: unknown) => e);
  assert.ok(err instanceof NotFoundError);
  assert.match(err.message, /process with pid 999999 not found/);
});

test('stdin: sendStdin and closeStdin reach cat', needsRoot, async (t) => {
  const { sandbox } = await startSandbox(t);
  const handle = await sandbox.commands.run('cat', { background: true, stdin: true });
  await sandbox.commands.sendStdin(handle.pid, 'hello ');
  await handle.sendStdin('world\n');
  await handle.closeStdin();
  const result = await handle.wait();
  assert.equal(result.stdout, 'hello world\n');
});

test('stdin false means /dev/null: cat ends at once', needsRoot, async (t) => {
  const { sandbox } = await startSandbox(t);
  const result = await sandbox.commands.run('cat; echo done');
  assert.equal(result.stdout, 'done\n');
});

test('the request deadline kills the process', needsRoot, async (t) => {
  const { sandbox } = await startSandbox(t);
  await assert.rejects(sandbox.commands.run('sleep 30', { timeoutMs: 1000 }), TimeoutError);
  const handle = await sandbox.commands.run('sleep 30', { background: true, timeoutMs: 1000 });
  await handle.wait().catch(() => {});
  assert.ok(await eventuallyGone(sandbox, handle.pid));
});

test('kill takes the whole process group, grandchildren included', needsRoot, async (t) => {
  const { sandbox } = await startSandbox(t);
  const handle = await sandbox.commands.run('sleep 30 & echo $!; wait', { background: true, timeoutMs: 0 });
  let grandchild = 0;
  for (let i = 0; i < 50 && grandchild === 0; i++) {
    grandchild = Number.parseInt(handle.stdout, 10) || 0;
    await sleep(100);
  }
  assert.ok(grandchild > 0, 'the grandchild pid was printed');
  await handle.kill();
  await handle.wait().catch(() => {});
  assert.ok(await eventuallyGone(sandbox, grandchild));
});
