/** pty.* of the official e2b SDK against the real envd bundle and the real pty helper. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { InvalidArgumentError, NotFoundError } from 'e2b';
import { needsRoot, startSandbox } from '../../testing/envd-harness.js';

/** Collects a terminal's output and waits for text to appear in it. */
function terminalOutput() {
  const decoder = new TextDecoder();
  let text = '';
  return {
    onData: (data: Uint8Array) => {
      text += decoder.decode(data, { stream: true });
    },
    get text() {
      return text;
    },
    async waitFor(pattern: RegExp, timeoutMs = 10_000): Promise<RegExpExecArray> {
      for (const started = Date.now(); Date.now() - started < timeoutMs; await sleep(50)) {
        const match = pattern.exec(text);
        if (match) return match;
      }
      throw new Error(`timed out waiting for ${pattern} in ${JSON.stringify(text.slice(-500))}`);
    },
  };
}

test('pty: an interactive login shell on a terminal of the requested size, resize, exit code', needsRoot, async (t) => {
  const { sandbox } = await startSandbox(t);
  const out = terminalOutput();
  const terminal = await sandbox.pty.create({ cols: 91, rows: 17, onData: out.onData, timeoutMs: 0 });
  const input = (text: string) => sandbox.pty.sendInput(terminal.pid, new TextEncoder().encode(text));
  await input('tty; echo "size=$(tput cols)x$(tput lines)"\n');
  assert.match((await out.waitFor(/\/dev\/pts\/\d+/))[0], /^\/dev\/pts\/\d+$/);
  await out.waitFor(/size=91x17/);
  await sandbox.pty.resize(terminal.pid, { cols: 123, rows: 45 });
  await input('echo "now=$(tput cols)x$(tput lines)"\n');
  await out.waitFor(/now=123x45/);
  await input('exit 7\n');
  const err = await terminal.wait().catch((e: unknown) => e);
  assert.equal((err as { exitCode?: number }).exitCode, 7);
});

test('pty: reconnect after a disconnect sees what was printed meanwhile; kill ends it', needsRoot, async (t) => {
  const { sandbox } = await startSandbox(t);
  const first = terminalOutput();
  const terminal = await sandbox.pty.create({ cols: 80, rows: 24, onData: first.onData, timeoutMs: 0 });
  await terminal.disconnect();
  await sandbox.pty.sendInput(terminal.pid, new TextEncoder().encode('echo "missed-$((6*7))"\n'));
  await sleep(300);
  const second = terminalOutput();
  const again = await sandbox.pty.connect(terminal.pid, { onData: second.onData, timeoutMs: 0 });
  await second.waitFor(/missed-42/);
  assert.equal(await sandbox.pty.kill(terminal.pid), true);
  const end = await again.wait().catch((e: unknown) => e);
  assert.equal((end as { exitCode?: number }).exitCode, -1);
  assert.equal(await sandbox.pty.kill(terminal.pid), false);
});

test('pty: stdin and closeStdin are refused for a terminal; bad sizes are invalid', needsRoot, async (t) => {
  const { sandbox } = await startSandbox(t);
  const out = terminalOutput();
  const terminal = await sandbox.pty.create({ cols: 80, rows: 24, onData: out.onData, timeoutMs: 0 });
  // Killing a login shell midway through its profile can leave the host's lock files behind
  // (these envd tests run on the host): let it get to a prompt first.
  await sandbox.pty.sendInput(terminal.pid, new TextEncoder().encode('echo ready-$((1+1))\n'));
  await out.waitFor(/ready-2/);
  await assert.rejects(sandbox.commands.sendStdin(terminal.pid, 'x'), InvalidArgumentError);
  await assert.rejects(sandbox.commands.closeStdin(terminal.pid), InvalidArgumentError);
  await assert.rejects(sandbox.pty.resize(terminal.pid, { cols: 0, rows: 10 }), InvalidArgumentError);
  await assert.rejects(sandbox.pty.resize(999_999, { cols: 10, rows: 10 }), NotFoundError);
  const plain = await sandbox.commands.run('sleep 30', { background: true, stdin: true, timeoutMs: 0 });
  await assert.rejects(sandbox.pty.sendInput(plain.pid, new Uint8Array([65])), InvalidArgumentError);
  // Killed here, not in t.after: the harness's envd is torn down by an earlier-registered hook.
  assert.equal(await plain.kill(), true);
  assert.equal(await sandbox.pty.kill(terminal.pid), true);
});
