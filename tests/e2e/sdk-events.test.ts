import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { needsSandboxHost } from '@sandboxd/runtime/testing';
import { EventStreamError, Sandbox, type SandboxEvent, type SandboxEventName } from '@sandboxd/sdk';
import { sharedEventStream } from '../../packages/sdk/src/event-stream.js';
import { startTestServer, type TestServer } from '../support/server-harness.js';
import { startTcpProxy } from '../support/tcp-proxy.js';

const all: SandboxEventName[] = ['start', 'close', 'pause', 'resume', 'timeout', 'error'];

/** Records every event of `sbx` as `type` or `type:reason`. */
function record(sbx: Sandbox): { seen: string[]; events: SandboxEvent[] } {
  const out = { seen: [] as string[], events: [] as SandboxEvent[] };
  for (const name of all)
    sbx.on(name, (e) => {
      out.events.push(e);
      out.seen.push(e.reason ? `${e.type}:${e.reason}` : e.type);
    });
  return out;
}

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  for (let waited = 0; !(await check()); waited += 50) {
    if (waited > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('@sandboxd/sdk on/off: lifecycle events over one shared stream', needsSandboxHost, () => {
  let server: TestServer;
  let opts: { apiUrl: string; apiKey: string };
  const streamGauge = async () =>
    Number(/^sandboxd_event_streams (\d+)/m.exec(await (await server.api('GET', '/metrics')).text())?.[1]);
  before(async () => {
    server = await startTestServer();
    opts = { apiUrl: server.url, apiKey: server.apiKey };
  });
  after(() => server?.stop());

  test('pause, resume and kill arrive in order, the close with reason killed; then the stream is let go', async (t) => {
    const sbx = await Sandbox.create(opts);
    t.after(() => sbx.kill().catch(() => undefined));
    const { seen, events } = record(sbx);
    await sbx.whenEventsReady();
    assert.equal(await sbx.pause(), true);
    await Sandbox.connect(sbx.id, opts); // resumes it
    await sbx.kill();
    await until('close', () => seen.includes('close:killed'));
    assert.deepEqual(seen, ['start', 'pause', 'resume', 'close:killed']);
    const seqs = events.map((e) => e.seq ?? 0);
    assert.deepEqual(
      seqs,
      [...seqs].sort((a, b) => a - b),
      'server order',
    );
    assert.ok(events.every((e) => e.sandboxId === sbx.id && e.cause === 'user'));
    // The start predates the handlers: it came from the server's history, still in order.
    assert.ok((events[0]?.seq ?? 0) > 0);
    await until('the stream closed on the server', async () => (await streamGauge()) === 0);
  });

  test('a short timeoutMs: timeout, then close with reason timeout', async (t) => {
    const sbx = await Sandbox.create({ ...opts, timeoutMs: 2_000 });
    t.after(() => sbx.kill().catch(() => undefined));
    const { seen } = record(sbx);
    await sbx.whenEventsReady();
    await until('close', () => seen.some((s) => s.startsWith('close')));
    assert.deepEqual(seen, ['start', 'timeout', 'close:timeout']);
  });

  test('close() reports reason closed, also to another client of the same sandbox; off() removes a handler', async (t) => {
    const sbx = await Sandbox.create(opts);
    t.after(() => sbx.kill().catch(() => undefined));
    const removed: string[] = [];
    const gone = (e: SandboxEvent) => removed.push(e.type);
    sbx.on('close', gone);
    sbx.off('close', gone);
    const { seen } = record(sbx);
    // A second application: another client configuration (the server through a proxy's URL), so its own stream.
    const proxy = await startTcpProxy(server.url);
    t.after(() => proxy.close());
    const watcher = await Sandbox.connect(sbx.id, { ...opts, apiUrl: proxy.url });
    const watched = record(watcher).seen;
    await Promise.all([sbx.whenEventsReady(), watcher.whenEventsReady()]);
    assert.equal(await streamGauge(), 2, 'two client configurations, two streams');
    await sbx.close({ graceMs: 100 });
    await until('close', () => seen.some((s) => s.startsWith('close')) && watched.some((s) => s.startsWith('close')));
    assert.deepEqual(seen, ['start', 'close:closed']);
    assert.deepEqual(watched, ['start', 'close:closed'], 'the server records the close, not only the closing object');
    assert.deepEqual(removed, []);
  });

  test('200 Sandbox objects with close handlers (on 3 real sandboxes) share ONE stream, counted by the server', async (t) => {
    const real = await Promise.all([0, 1, 2].map(() => Sandbox.create(opts)));
    t.after(() => Promise.all(real.map((s) => s.kill().catch(() => undefined))));
    const objects = await Promise.all(
      Array.from({ length: 200 }, (_, i) => Sandbox.connect((real[i % 3] as Sandbox).id, opts)),
    );
    const closes = new Map<Sandbox, string>();
    for (const o of objects) o.on('close', (e) => closes.set(o, `${e.sandboxId}:${e.reason}`));
    await Promise.all(objects.map((o) => o.whenEventsReady()));
    const stream = sharedEventStream(opts.apiUrl, opts.apiKey);
    assert.equal(stream.listenerCount, 200);
    assert.equal(stream.connections, 1, 'one connection opened by the client');
    assert.equal(await streamGauge(), 1, 'one event stream open on the server');
    await Promise.all(real.map((s) => s.kill()));
    await until('every close', () => closes.size === 200);
    for (const [i, o] of objects.entries()) assert.equal(closes.get(o), `${(real[i % 3] as Sandbox).id}:killed`);
    assert.equal(stream.listenerCount, 0, 'closed sandboxes give up their place');
    await until('the stream closed on the server', async () => (await streamGauge()) === 0);
  });

  test('a dropped stream reconnects with Last-Event-ID and delivers what happened meanwhile', async (t) => {
    const proxy = await startTcpProxy(server.url, 3450);
    t.after(() => proxy.close());
    const created = await Sandbox.create(opts);
    t.after(() => created.kill().catch(() => undefined));
    // The same sandbox, seen through a path the test can cut.
    const viaProxy = await Sandbox.connect(created.id, { apiUrl: proxy.url, apiKey: opts.apiKey });
    const { seen } = record(viaProxy);
    await viaProxy.whenEventsReady();
    const stream = sharedEventStream(proxy.url, opts.apiKey);
    assert.equal(stream.connections, 1);

    proxy.drop();
    assert.equal(await created.pause(), true);
    await Sandbox.connect(created.id, opts);
    await created.kill();
    await new Promise((r) => setTimeout(r, 300)); // a reconnect attempt or two is refused meanwhile
    proxy.allow();
    await until('close after reconnect', () => seen.includes('close:killed'));
    const lifecycle = seen.filter((s) => s !== 'error');
    assert.deepEqual(lifecycle, ['start', 'pause', 'resume', 'close:killed'], 'nothing missed, nothing twice');
    assert.ok(stream.connections >= 2, `reconnected (${stream.connections} connections)`);
  });

  test('an invalid key: error on the sandbox, no unhandled rejection', async (t) => {
    const rejections: unknown[] = [];
    const onRejection = (reason: unknown) => rejections.push(reason);
    process.on('unhandledRejection', onRejection);
    t.after(() => process.off('unhandledRejection', onRejection));
    const sbx = await Sandbox.create(opts);
    t.after(() => sbx.kill().catch(() => undefined));
    const bad = await Sandbox.connect(sbx.id, opts);
    // Same sandbox, a client configured with a key the server does not know.
    const config = (bad as unknown as { connectionConfig: object }).connectionConfig;
    Object.defineProperty(config, 'apiKey', { value: 'e2b_0000000000000000000000000000000000000000' });
    const errors: SandboxEvent[] = [];
    bad.on('error', (e) => errors.push(e));
    bad.on('close', () => undefined);
    await until('error', () => errors.length > 0);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(errors.length, 1);
    const err = errors[0]?.error;
    assert.ok(err instanceof EventStreamError);
    assert.equal(err.status, 401);
    assert.deepEqual(rejections, []);
  });
});
