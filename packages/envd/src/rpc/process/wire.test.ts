/**
 * The Connect wire itself, below the SDK: stream framing (start first, keepalive while idle, one
 * end, then the end-of-stream envelope) and the binary protobuf codec the SDK does not use.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createClient } from '@connectrpc/connect';
import { createConnectTransport } from '@connectrpc/connect-node';
import { Process } from '@sandboxd/protocol';
import { envelope, parseEnvelopes } from '../../testing/connect-wire.js';
import { needsRoot, startEnvd } from '../../testing/envd-harness.js';

test(
  'a Start stream: start, keepalive while idle, data, one end, then the end-of-stream envelope',
  needsRoot,
  async (t) => {
    const envd = await startEnvd(t);
    const res = await fetch(`${envd.url}/process.Process/Start`, {
      method: 'POST',
      headers: {
        'content-type': 'application/connect+json',
        'connect-protocol-version': '1',
        'keepalive-ping-interval': '1',
      },
      body: envelope({ process: { cmd: '/bin/sh', args: ['-c', 'sleep 1.6; echo hi'] }, stdin: false }),
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/connect+json');
    const messages = parseEnvelopes(Buffer.from(await res.arrayBuffer()));
    const kinds = messages.map((m) => (m.flags === 2 ? 'eos' : Object.keys((m.json.event as object) ?? {})[0]));
    assert.equal(kinds[0], 'start');
    assert.ok(kinds.includes('keepalive'), kinds.join(','));
    assert.deepEqual(kinds.slice(-3), ['data', 'end', 'eos']);
    assert.deepEqual(messages.at(-2)?.json, { event: { end: { exited: true, status: 'exit status 0' } } });
    assert.deepEqual(messages.at(-1)?.json, {});
  },
);

test('an error before the first message is an end-of-stream envelope with the code', needsRoot, async (t) => {
  const envd = await startEnvd(t);
  const res = await fetch(`${envd.url}/process.Process/Connect`, {
    method: 'POST',
    headers: { 'content-type': 'application/connect+json', 'connect-protocol-version': '1' },
    body: envelope({ process: { pid: 4242424 } }),
  });
  const messages = parseEnvelopes(Buffer.from(await res.arrayBuffer()));
  assert.equal(messages.length, 1);
  assert.equal(messages[0]?.flags, 2);
  assert.deepEqual(messages[0]?.json.error, { code: 'not_found', message: 'process with pid 4242424 not found' });
});

test('binary protobuf works too (List and SendSignal via a connect-node client)', needsRoot, async (t) => {
  const envd = await startEnvd(t);
  const client = createClient(
    Process,
    createConnectTransport({ baseUrl: envd.url, httpVersion: '1.1', useBinaryFormat: true }),
  );
  const stream = client.start({ process: { cmd: '/bin/sleep', args: ['30'] } });
  const iterator = stream[Symbol.asyncIterator]();
  const first = await iterator.next();
  assert.equal(first.value?.event?.event.case, 'start');
  const pid = first.value?.event?.event.case === 'start' ? first.value.event.event.value.pid : 0;
  const listed = await client.list({});
  assert.deepEqual(
    listed.processes.map((p) => [p.pid, p.config?.cmd]),
    [[pid, '/bin/sleep']],
  );
  await client.sendSignal({ process: { selector: { case: 'pid', value: pid } }, signal: 9 });
  let end: unknown;
  for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
    if (next.value.event?.event.case === 'end') end = next.value.event.event.value;
  }
  assert.deepEqual(end && { ...(end as object) }, {
    $typeName: 'process.ProcessEvent.EndEvent',
    exitCode: -1,
    exited: false,
    status: 'signal: killed',
    error: 'signal: killed',
  });
});

function binaryClient(url: string) {
  return createClient(Process, createConnectTransport({ baseUrl: url, httpVersion: '1.1', useBinaryFormat: true }));
}

test('reconnect by tag replays what was printed while nobody was attached', needsRoot, async (t) => {
  const envd = await startEnvd(t);
  const client = binaryClient(envd.url);
  const abort = new AbortController();
  const stream = client.start(
    { process: { cmd: '/bin/sh', args: ['-c', 'sleep 0.5; echo missed; sleep 0.5; echo live'] }, tag: 'job-1' },
    { signal: abort.signal },
  );
  const first = await stream[Symbol.asyncIterator]().next();
  assert.equal(first.value?.event?.event.case, 'start');
  abort.abort(); // the client goes away; the process keeps running
  await new Promise((r) => setTimeout(r, 800));
  let stdout = '';
  let exitCode: number | undefined;
  for await (const res of client.connect({ process: { selector: { case: 'tag', value: 'job-1' } } })) {
    const event = res.event?.event;
    if (event?.case === 'data' && event.value.output.case === 'stdout') stdout += Buffer.from(event.value.output.value);
    if (event?.case === 'end') exitCode = event.value.exitCode;
  }
  assert.equal(stdout, 'missed\nlive\n');
  assert.equal(exitCode, 0);
});

test('StreamInput (client streaming) feeds stdin', needsRoot, async (t) => {
  const envd = await startEnvd(t);
  const client = binaryClient(envd.url);
  const stream = client.start({ process: { cmd: '/bin/cat', args: [] }, stdin: true, tag: 'cat' });
  const events = stream[Symbol.asyncIterator]();
  const first = await events.next();
  const pid = first.value?.event?.event.case === 'start' ? first.value.event.event.value.pid : 0;
  async function* input() {
    yield { event: { case: 'start' as const, value: { process: { selector: { case: 'pid' as const, value: pid } } } } };
    for (const text of ['streamed ', 'input\n']) {
      yield {
        event: {
          case: 'data' as const,
          value: { input: { input: { case: 'stdin' as const, value: new TextEncoder().encode(text) } } },
        },
      };
    }
  }
  await client.streamInput(input());
  await client.closeStdin({ process: { selector: { case: 'pid', value: pid } } });
  let stdout = '';
  for (let next = await events.next(); !next.done; next = await events.next()) {
    const event = next.value.event?.event;
    if (event?.case === 'data' && event.value.output.case === 'stdout') stdout += Buffer.from(event.value.output.value);
  }
  assert.equal(stdout, 'streamed input\n');
});

test('a client that does not read pauses the process instead of growing envd (backpressure)', needsRoot, async (t) => {
  const envd = await startEnvd(t);
  const client = binaryClient(envd.url);
  const total = 300 * 1024 * 1024;
  const stream = client.start({ process: { cmd: '/bin/sh', args: ['-c', `head -c ${total} /dev/zero`] } });
  const events = stream[Symbol.asyncIterator]();
  await events.next(); // start
  await new Promise((r) => setTimeout(r, 2000)); // nobody reads: the pipes must fill and pause
  const status = await import('node:fs').then((fs) => fs.readFileSync(`/proc/${envd.child.pid}/status`, 'utf8'));
  const rssKiB = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]);
  assert.ok(rssKiB < 200 * 1024, `envd RSS ${rssKiB} KiB while its client is not reading`);
  let received = 0;
  for (let next = await events.next(); !next.done; next = await events.next()) {
    const event = next.value.event?.event;
    if (event?.case === 'data' && event.value.output.case === 'stdout') received += event.value.output.value.byteLength;
  }
  assert.equal(received, total);
});

test(
  'binary bodies that are not valid protobuf are invalid_argument, unary and streamed; never internal',
  needsRoot,
  async (t) => {
    const envd = await startEnvd(t, { accessToken: 'tok' });
    const headers = { 'connect-protocol-version': '1', 'x-access-token': 'tok' };
    const garbage = Buffer.from([0x00, 0xff, 0x07]);
    const unary = await fetch(`${envd.url}/filesystem.Filesystem/Stat`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/proto' },
      body: garbage,
    });
    assert.equal(unary.status, 400);
    const body = (await unary.json()) as { code: string; message: string };
    assert.equal(body.code, 'invalid_argument');
    assert.match(body.message, /not a valid filesystem\.StatRequest/);

    const frame = Buffer.concat([Buffer.from([0, 0, 0, 0, garbage.length]), garbage]);
    for (const streamBody of [frame, frame.subarray(0, 3), Buffer.concat([Buffer.from([7, 0, 0, 0, 0])])]) {
      const streamed = await fetch(`${envd.url}/process.Process/Start`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/connect+proto' },
        body: streamBody,
      });
      assert.equal(streamed.status, 200);
      const messages = parseEnvelopes(Buffer.from(await streamed.arrayBuffer()));
      assert.equal(messages.length, 1);
      assert.equal(messages[0]?.flags, 2);
      assert.equal((messages[0]?.json.error as { code?: string } | undefined)?.code, 'invalid_argument');
    }

    // Without the token the body is not looked at: the same refusal as for any call.
    const stranger = await fetch(`${envd.url}/filesystem.Filesystem/Stat`, {
      method: 'POST',
      headers: { 'connect-protocol-version': '1', 'content-type': 'application/proto' },
      body: garbage,
    });
    assert.equal(stranger.status, 401);
    assert.equal(((await stranger.json()) as { code: string }).code, 'unauthenticated');

    // A valid binary request still goes through, read back from what the guard consumed.
    const client = createClient(
      Process,
      createConnectTransport({
        baseUrl: envd.url,
        httpVersion: '1.1',
        useBinaryFormat: true,
        interceptors: [
          (next) => (req) => {
            req.header.set('x-access-token', 'tok');
            return next(req);
          },
        ],
      }),
    );
    let out = '';
    for await (const res of client.start({ process: { cmd: '/bin/echo', args: ['through'] } })) {
      const event = res.event?.event;
      if (event?.case === 'data' && event.value.output.case === 'stdout') out += Buffer.from(event.value.output.value);
    }
    assert.equal(out, 'through\n');
    assert.deepEqual((await client.list({})).processes, []);
  },
);
