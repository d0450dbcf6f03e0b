/**
 * Command deadlines through the real server and proxy: when `timeoutMs` (Connect-Timeout-Ms)
 * passes, envd ends the stream with a deadline_exceeded error, as E2B's envd does, for
 * commands.run, a background handle reattached with commands.connect, and PTYs. Checked on the
 * wire (the end-of-stream message's error code) and through the official SDK (TimeoutError).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { needsSandboxHost } from '@sandboxd/runtime/testing';
import { TimeoutError } from 'e2b';
import { callStream, END_STREAM, eventKinds } from '../../packages/envd/src/testing/connect-wire.js';
import { useEnvdFixture } from '../support/envd-fixture.js';

describe('envd command deadlines through sandboxd', needsSandboxHost, () => {
  const f = useEnvdFixture();

  const errorCode = (messages: { flags: number; json: Record<string, unknown> }[]) => {
    const last = messages.at(-1);
    return last?.flags === END_STREAM ? (last.json.error as { code?: string } | undefined)?.code : undefined;
  };

  test('wire: Start past its deadline ends with deadline_exceeded, not an empty end', async () => {
    const { status, messages } = await callStream(
      `${f.server.url}/process.Process/Start`,
      { process: { cmd: '/bin/bash', args: ['-l', '-c', 'echo started; sleep 30'] }, stdin: false },
      { ...f.headers, 'connect-timeout-ms': '1500' },
    );
    assert.equal(status, 200);
    assert.deepEqual(eventKinds(messages), ['start', 'data', 'eos']);
    assert.equal(errorCode(messages), 'deadline_exceeded');
  });

  test('wire: a PTY past its deadline too', async () => {
    const { messages } = await callStream(
      `${f.server.url}/process.Process/Start`,
      { process: { cmd: '/bin/bash', args: ['-i', '-l'] }, pty: { size: { cols: 80, rows: 24 } } },
      { ...f.headers, 'connect-timeout-ms': '1500' },
    );
    assert.equal(eventKinds(messages).at(-1), 'eos');
    assert.ok(!eventKinds(messages).includes('end'));
    assert.equal(errorCode(messages), 'deadline_exceeded');
  });

  test('wire and SDK: reattaching past its own deadline leaves the process running', async () => {
    const handle = await f.sbx.commands.run('sleep 60', { background: true, timeoutMs: 0 });
    try {
      const { messages } = await callStream(
        `${f.server.url}/process.Process/Connect`,
        { process: { pid: handle.pid } },
        { ...f.headers, 'connect-timeout-ms': '1000' },
      );
      assert.deepEqual(eventKinds(messages), ['start', 'eos']);
      assert.equal(errorCode(messages), 'deadline_exceeded');
      const again = await f.sbx.commands.connect(handle.pid, { timeoutMs: 1000 });
      await assert.rejects(again.wait(), TimeoutError);
      const alive = await f.sbx.commands.run(`kill -0 ${handle.pid} && echo alive`);
      assert.equal(alive.stdout, 'alive\n');
    } finally {
      await handle.kill();
    }
  });

  test('SDK: commands.run, a background handle and a PTY reject with TimeoutError', async () => {
    await assert.rejects(f.sbx.commands.run('sleep 30', { timeoutMs: 1000 }), TimeoutError);
    const background = await f.sbx.commands.run('sleep 30', { background: true, timeoutMs: 1000 });
    await assert.rejects(background.wait(), TimeoutError);
    const gone = await f.sbx.commands.run(`kill -0 ${background.pid} 2>/dev/null && echo alive || echo gone`);
    assert.equal(gone.stdout, 'gone\n', 'the deadline killed the background command');
    const pty = await f.sbx.pty.create({ cols: 80, rows: 24, onData: () => {}, timeoutMs: 1000 });
    await assert.rejects(pty.wait(), TimeoutError);
  });
});
