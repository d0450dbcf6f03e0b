import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { needsSandboxHost } from '@sandboxd/runtime/testing';
import { CommandExitError, Sandbox, TimeoutError } from 'e2b';
import { startTestServer, type TestServer } from '../support/server-harness.js';

/** Polls a condition (output arrives asynchronously); gives up after `timeoutMs`. */
async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<boolean> {
  for (const started = Date.now(); Date.now() - started < timeoutMs; await sleep(100)) {
    if (await check()) return true;
  }
  return false;
}

async function isAlive(sbx: Sandbox, pid: number): Promise<boolean> {
  const r = await sbx.commands.run(`kill -0 ${pid} 2>/dev/null && echo alive || echo gone`, { user: 'root' });
  return r.stdout.trim() === 'alive';
}

// Issue #4: processes and terminals of envd, through the real server, with the official SDK.
describe('envd processes and PTYs through sandboxd', needsSandboxHost, () => {
  let server: TestServer;
  let sbx: Sandbox;
  before(async () => {
    server = await startTestServer({ env: { SANDBOXD_WARM_POOL: '1' } });
    server.useForE2b();
    sbx = await Sandbox.create({ envs: { SANDBOX_WIDE: 'from-create', OVERRIDDEN: 'create' } });
  });
  after(async () => {
    await sbx?.kill().catch(() => {});
    await server?.stop();
  });

  test('stdin reaches cat: sendStdin, then closeStdin ends it', async () => {
    const cat = await sbx.commands.run('cat', { background: true, stdin: true });
    await cat.sendStdin('hello ');
    await sbx.commands.sendStdin(cat.pid, 'from stdin\n');
    await cat.closeStdin();
    const result = await cat.wait();
    assert.equal(result.stdout, 'hello from stdin\n');
  });

  test('env: sandbox-wide envVars from create, per-command envs win; cwd and users', async () => {
    const r = await sbx.commands.run('echo "$SANDBOX_WIDE $OVERRIDDEN $(pwd) $(whoami)"', {
      envs: { OVERRIDDEN: 'command' },
    });
    assert.equal(r.stdout, 'from-create command /home/user user\n');
    const root = await sbx.commands.run('echo "$(whoami) $HOME $(pwd)"', { user: 'root', cwd: '/tmp' });
    assert.equal(root.stdout, 'root /root /tmp\n');
  });

  test('reconnect after the client went away: the missed output, then the rest, then the exit', async () => {
    const handle = await sbx.commands.run(
      'for i in 1 2 3; do echo line-$i; sleep 0.5; done; sleep 1; echo tail; exit 5',
      {
        background: true,
        timeoutMs: 0,
      },
    );
    assert.equal(await eventually(() => handle.stdout.includes('line-1')), true);
    await handle.disconnect();
    await sleep(1700); // line-2 and line-3 are printed while nobody listens
    const attached = await sbx.commands.connect(handle.pid, { timeoutMs: 0 });
    const err = await attached.wait().catch((e: unknown) => e);
    assert.ok(err instanceof CommandExitError, String(err));
    assert.equal(err.exitCode, 5);
    assert.equal(err.stdout, 'line-2\nline-3\ntail\n');
  });

  test('a 20 s command under timeoutMs: 0 is not cut off', async () => {
    const r = await sbx.commands.run('sleep 20; echo survived', { timeoutMs: 0 });
    assert.equal(r.stdout, 'survived\n');
  });

  test('a command that exceeds its timeout is killed, group and all', async () => {
    await assert.rejects(sbx.commands.run('sleep 60', { timeoutMs: 1500 }), TimeoutError);
    const handle = await sbx.commands.run('sleep 60 & echo $!; wait', { background: true, timeoutMs: 1500 });
    assert.equal(await eventually(() => /\d+/.test(handle.stdout)), true);
    const grandchild = Number.parseInt(handle.stdout, 10);
    await handle.wait().catch(() => {});
    assert.equal(
      await eventually(async () => !(await isAlive(sbx, handle.pid)) && !(await isAlive(sbx, grandchild))),
      true,
    );
  });

  test('list and kill a background command', async () => {
    const handle = await sbx.commands.run('sleep 300', { background: true, timeoutMs: 0 });
    const listed = await sbx.commands.list();
    assert.ok(listed.some((p) => p.pid === handle.pid && p.args.includes('sleep 300')));
    assert.equal(await sbx.commands.kill(handle.pid), true);
    const end = await handle.wait().catch((e: unknown) => e);
    assert.ok(end instanceof CommandExitError);
    assert.equal(end.error, 'signal: killed');
    assert.equal(await eventually(async () => !(await isAlive(sbx, handle.pid))), true);
  });

  test('pty: bash -i -l on a real terminal, tput follows resize, reconnect, kill', async () => {
    const decoder = new TextDecoder();
    let text = '';
    const terminal = await sbx.pty.create({
      cols: 100,
      rows: 20,
      timeoutMs: 0,
      onData: (d) => {
        text += decoder.decode(d, { stream: true });
      },
    });
    const type = (line: string) => sbx.pty.sendInput(terminal.pid, new TextEncoder().encode(`${line}\n`));
    await type('echo "who=$(whoami) tty=$(tty) size=$(tput cols)x$(tput lines)"');
    assert.equal(await eventually(() => /who=user tty=\/dev\/pts\/\d+ size=100x20/.test(text)), true, text);
    await sbx.pty.resize(terminal.pid, { cols: 132, rows: 43 });
    await type('echo "resized=$(tput cols)x$(tput lines)"');
    assert.equal(await eventually(() => text.includes('resized=132x43')), true, text);
    await terminal.disconnect();
    // disconnect() only aborts on the client side: output the server sends before it has seen the
    // connection close goes down the dead socket, as over any TCP stream. Type once it has.
    await sleep(300);
    await type('echo "while-away-$((40+2))"');
    await sleep(300);
    let again = '';
    const reattached = await sbx.pty.connect(terminal.pid, {
      timeoutMs: 0,
      onData: (d) => {
        again += decoder.decode(d, { stream: true });
      },
    });
    assert.equal(await eventually(() => again.includes('while-away-42')), true, again);
    assert.equal(await sbx.pty.kill(terminal.pid), true);
    await reattached.wait().catch(() => {});
    assert.equal(await eventually(async () => !(await isAlive(sbx, terminal.pid))), true);
  });
});
