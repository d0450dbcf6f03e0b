import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { SandboxdError, silentLogger } from '@sandboxd/common';
import { EventHub } from './lifecycle/event-hub.js';
import { SerialQueue } from './lifecycle/serial-queue.js';
import { createMetrics } from './metrics/registry.js';
import { SandboxProxy } from './proxy/sandbox-proxy.js';
import { openApiFixture } from './testing/api-fixture.js';
import { createCommand, openServiceFixture, testTeam } from './testing/service-fixture.js';

// One contract for every close(), as undici's dispatchers have: graceful (work under way
// finishes), idempotent (a second call joins the first), and work asked afterwards is refused
// with a typed error (SHUTTING_DOWN, 503 on the wire).

const isShuttingDown = (err: unknown) => SandboxdError.is(err) && err.code === 'SHUTTING_DOWN';

test('SerialQueue: close waits for queued work, is idempotent, and refuses new work', async () => {
  const queue = new SerialQueue();
  let finished = false;
  const running = queue.run('a', async () => {
    await new Promise((r) => setTimeout(r, 20));
    finished = true;
  });
  const closing = queue.close();
  assert.equal(queue.close(), closing, 'a second close joins the first');
  await assert.rejects(
    queue.run('b', async () => {}),
    isShuttingDown,
  );
  await closing;
  assert.equal(finished, true, 'queued work finished before close resolved');
  await running;
});

test('EventHub: close tells each subscriber once, and a subscribe afterwards is refused', () => {
  const hub = new EventHub();
  let closes = 0;
  hub.subscribe(
    't1',
    () => {},
    () => closes++,
  );
  hub.close();
  hub.close();
  assert.equal(closes, 1);
  assert.throws(() => hub.subscribe('t1', () => {}), isShuttingDown);
});

test('SqliteStore: close is idempotent and later calls fail with SHUTTING_DOWN', async () => {
  const fixture = openServiceFixture();
  await fixture.close();
  fixture.store.close();
  assert.throws(() => fixture.store.getSandbox('abc'), isShuttingDown);
});

test('SandboxService: close is idempotent; creates and queued operations are refused afterwards', async (t) => {
  const fixture = openServiceFixture();
  t.after(() => fixture.close());
  const record = await fixture.service.create(testTeam, createCommand);
  const closing = fixture.service.close();
  assert.equal(fixture.service.close(), closing, 'a second close joins the first');
  await closing;
  await assert.rejects(fixture.service.create(testTeam, createCommand), isShuttingDown);
  await assert.rejects(fixture.service.kill(testTeam, record.id), isShuttingDown);
  assert.ok(fixture.runtime.live.has(record.id), 'sandboxes keep running across a shutdown');
});

test('the API answers 503 SHUTTING_DOWN once the lifecycle is closed, for creates and event streams', async (t) => {
  const api = openApiFixture();
  t.after(() => api.close());
  await api.service.close();
  const created = await api.request('/v2/sandboxes', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ templateID: 'base' }),
  });
  assert.equal(created.status, 503);
  assert.deepEqual(await created.json(), { code: 503, message: 'the server is shutting down' });
  const events = await api.request('/events');
  assert.equal(events.status, 503);
});

test('SandboxProxy: close is idempotent and later requests answer 503 in the proxy shape', async (t) => {
  const proxy = new SandboxProxy({
    route: () => undefined,
    signedCandidates: () => [],
    logger: silentLogger,
    metrics: createMetrics({ runningSandboxes: () => 0 }),
  });
  const server = http.createServer((req, res) =>
    proxy.handle(req, res, { sandboxId: 'abcdefghij0123456789', port: 49983 }),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise((resolve) => server.close(resolve)));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  const sandboxId = 'abcdefghij0123456789';
  const answer = async () => {
    const res = await fetch(url, { headers: { 'e2b-sandbox-id': sandboxId } });
    return { status: res.status, body: await res.json() };
  };

  const notFound = 'The sandbox was not found';
  assert.deepEqual(await answer(), { status: 502, body: { message: notFound, sandboxId, code: 502 } });
  proxy.close();
  proxy.close();
  const closing = 'the server is shutting down';
  assert.deepEqual(await answer(), { status: 503, body: { message: closing, sandboxId, code: 503 } });
});
