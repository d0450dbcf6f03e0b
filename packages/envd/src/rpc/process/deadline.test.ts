/**
 * A stream's deadline on the wire: when `Connect-Timeout-Ms` passes, Start, Connect and a PTY's
 * Start end with a deadline_exceeded end-of-stream error (never a bare `{}` end), and only
 * Start's deadline kills the process. Checked with raw HTTP, then through the official SDK.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createClient } from '@connectrpc/connect';
import { createConnectTransport } from '@connectrpc/connect-node';
import { Process } from '@sandboxd/protocol';
import { TimeoutError } from 'e2b';
import { callStream, END_STREAM, eventKinds } from '../../testing/connect-wire.js';
import { needsRoot, startEnvd, startSandbox } from '../../testing/envd-harness.js';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The pid in a client stream's first event, `start`. */
async function startedPid(
  stream: AsyncIterable<{ event?: { event: { case: string | undefined; value?: unknown } } }>,
): Promise<number> {
  const first = await stream[Symbol.asyncIterator]().next();
  const event = first.value?.event?.event;
  return event?.case === 'start' ? (event.value as { pid: number }).pid : 0;
}

function pidOf(messages: { json: Record<string, unknown> }[]): number {
  return Number((messages[0]?.json.event as { start?: { pid?: number } } | undefined)?.start?.pid);
}

test('Start past its deadline: deadline_exceeded on the stream, and the process is killed', needsRoot, async (t) => {
  const envd = await startEnvd(t);
  const { status, messages } = await callStream(
    `${envd.url}/process.Process/Start`,
    { process: { cmd: '/bin/sh', args: ['-c', 'echo started; sleep 30'] }, stdin: false },
    { 'connect-timeout-ms': '700' },
  );
  assert.equal(status, 200);
  assert.deepEqual(eventKinds(messages), ['start', 'data', 'eos']);
  assert.equal(messages.at(-1)?.flags, END_STREAM);
  assert.deepEqual(messages.at(-1)?.json.error, { code: 'deadline_exceeded', message: 'context deadline exceeded' });
  const pid = pidOf(messages);
  for (let i = 0; i < 50 && alive(pid); i++) await sleep(100);
  assert.equal(alive(pid), false, 'the deadline killed the process');
});

test('Connect past its deadline: deadline_exceeded, and the process keeps running', needsRoot, async (t) => {
  const envd = await startEnvd(t);
  const client = createClient(Process, createConnectTransport({ baseUrl: envd.url, httpVersion: '1.1' }));
  const abort = new AbortController();
  t.after(() => abort.abort());
  const started = client.start({ process: { cmd: '/bin/sleep', args: ['30'] }, tag: 'kept' }, { signal: abort.signal });
  const pid = await startedPid(started);
  t.after(() => process.kill(pid, 'SIGKILL'));

  const { messages } = await callStream(
    `${envd.url}/process.Process/Connect`,
    { process: { tag: 'kept' } },
    { 'connect-timeout-ms': '500' },
  );
  assert.deepEqual(eventKinds(messages), ['start', 'eos']);
  assert.equal((messages.at(-1)?.json.error as { code?: string } | undefined)?.code, 'deadline_exceeded');
  assert.equal(alive(pid), true, 'a Connect deadline does not kill the process');
});

test('a PTY past its deadline: deadline_exceeded too', needsRoot, async (t) => {
  const envd = await startEnvd(t);
  const { messages } = await callStream(
    `${envd.url}/process.Process/Start`,
    { process: { cmd: '/bin/sh', args: ['-c', 'sleep 30'] }, pty: { size: { cols: 80, rows: 24 } } },
    { 'connect-timeout-ms': '700' },
  );
  assert.equal(eventKinds(messages).at(-1), 'eos');
  assert.equal((messages.at(-1)?.json.error as { code?: string } | undefined)?.code, 'deadline_exceeded');
  assert.ok(!eventKinds(messages).includes('end'));
});

test('through the SDK: commands.run and a background handle reject with TimeoutError', needsRoot, async (t) => {
  const { sandbox } = await startSandbox(t);
  await assert.rejects(sandbox.commands.run('sleep 30', { timeoutMs: 800 }), TimeoutError);
  const handle = await sandbox.commands.run('sleep 30', { background: true, timeoutMs: 800 });
  await assert.rejects(handle.wait(), TimeoutError);
  const pty = await sandbox.pty.create({ cols: 80, rows: 24, onData: () => {}, timeoutMs: 800 });
  await assert.rejects(pty.wait(), TimeoutError);
});

test(
  'a client that gives up just before its deadline ends the process then; one that leaves early does not',
  needsRoot,
  async (t) => {
    const envd = await startEnvd(t);
    const client = createClient(Process, createConnectTransport({ baseUrl: envd.url, httpVersion: '1.1' }));
    async function startThenAbort(deadlineMs: number, abortAfterMs: number): Promise<number> {
      const abort = new AbortController();
      const stream = client.start(
        { process: { cmd: '/bin/sleep', args: ['30'] }, stdin: false },
        { signal: abort.signal, headers: { 'connect-timeout-ms': String(deadlineMs) } },
      );
      const pid = await startedPid(stream);
      t.after(() => alive(pid) && process.kill(pid, 'SIGKILL'));
      await sleep(abortAfterMs);
      abort.abort();
      return pid;
    }
    // E2B's SDKs arm their own timer of the request's length, so their abort can beat ours by a little.
    const nearDeadline = await startThenAbort(1400, 1000);
    for (let i = 0; i < 20 && alive(nearDeadline); i++) await sleep(10);
    assert.equal(alive(nearDeadline), false, 'killed when its client gave up 400 ms before the deadline');

    const early = await startThenAbort(10_000, 200);
    await sleep(300);
    assert.equal(alive(early), true, 'a disconnect long before the deadline leaves the process running');
  },
);
