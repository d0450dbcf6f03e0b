import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { needsSandboxHost } from '@sandboxd/runtime/testing';
import { Sandbox, SandboxNotFoundError } from 'e2b';
import { startTestServer, type TestServer } from '../support/server-harness.js';
import { openSse } from '../support/sse.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const tag = () => randomBytes(4).toString('hex');

interface WireEvent {
  seq: number;
  sandboxID: string;
  type: string;
  cause: string;
  timestamp: string;
}

// Issue #3 acceptance: everything E2B promises about a sandbox's life, seen through the official SDK.
describe('sandbox lifecycle through the e2b SDK', needsSandboxHost, () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
    server.useForE2b();
  });
  after(() => server?.stop());

  test('pagination: 5 sandboxes with limit 2 come as 2 + 2 + 1 with no overlap', async (t) => {
    const mark = tag();
    const created: string[] = [];
    for (let i = 0; i < 5; i++) {
      const sbx = await Sandbox.create({ metadata: { mark } });
      t.after(() => sbx.kill());
      created.push(sbx.sandboxId);
    }
    const paginator = Sandbox.list({ query: { metadata: { mark } }, limit: 2 });
    const pages: string[][] = [];
    while (paginator.hasNext) pages.push((await paginator.nextItems()).map((s) => s.sandboxId));
    assert.deepEqual(
      pages.map((p) => p.length),
      [2, 2, 1],
    );
    assert.equal(paginator.nextToken, undefined, 'no token after the last page');
    const all = pages.flat();
    assert.equal(new Set(all).size, 5, 'no sandbox on two pages');
    assert.deepEqual(all, [...created].reverse(), 'newest first across pages');
  });

  test('the metadata filter {userId: 123, env: dev} returns exactly the match', async (t) => {
    const match = await Sandbox.create({ metadata: { userId: '123', env: 'dev', app: 'my-app' } });
    t.after(() => match.kill());
    const others: Record<string, string>[] = [
      { userId: '123', env: 'prod' },
      { userId: '456', env: 'dev' },
      { env: 'dev' },
    ];
    for (const metadata of others) {
      const other = await Sandbox.create({ metadata });
      t.after(() => other.kill());
    }
    const found = await Sandbox.list({ query: { metadata: { userId: '123', env: 'dev' } } }).nextItems();
    assert.deepEqual(
      found.map((s) => s.sandboxId),
      [match.sandboxId],
    );
    assert.deepEqual(found[0]?.metadata, { userId: '123', env: 'dev', app: 'my-app' });
    const odd = { 'a b&c=d%': 'x+y %41/é' };
    const oddSbx = await Sandbox.create({ metadata: odd });
    t.after(() => oddSbx.kill());
    const oddFound = await Sandbox.list({ query: { metadata: odd } }).nextItems();
    assert.deepEqual(
      oddFound.map((s) => s.sandboxId),
      [oddSbx.sandboxId],
      'the SDK’s triple encoding is decoded exactly',
    );
  });

  test('no timeout given: 300 s; getInfo maps every field; list and v1 list agree', async (t) => {
    const sbx = await Sandbox.create({ metadata: { who: 'info' } });
    t.after(() => sbx.kill());
    const info = await sbx.getInfo();
    const ttl = info.endAt.getTime() - info.startedAt.getTime();
    assert.ok(ttl > 295_000 && ttl <= 300_000, `default timeout is 300 s (${ttl} ms)`);
    assert.equal(info.sandboxId, sbx.sandboxId);
    assert.equal(info.templateId, 'base');
    assert.equal(info.name, 'base');
    assert.deepEqual(info.metadata, { who: 'info' });
    assert.equal(info.state, 'running');
    assert.equal(info.cpuCount, 2);
    assert.equal(info.memoryMB, 2048);
    assert.match(info.envdVersion, /^\d+\.\d+\.\d+$/);
    assert.equal(info.allowInternetAccess, true);
    assert.deepEqual(info.lifecycle, { onTimeout: 'kill', autoResume: false });
    assert.equal(info.sandboxDomain, `localhost:${new URL(server.url).port}`);

    const v1 = (await (await server.api('GET', '/sandboxes')).json()) as Array<{ sandboxID: string; state: string }>;
    assert.ok(v1.some((s) => s.sandboxID === sbx.sandboxId && s.state === 'running'));
    const listed = await Sandbox.list({ query: { metadata: { who: 'info' }, state: ['running'] } }).nextItems();
    assert.equal(listed[0]?.startedAt.getTime(), info.startedAt.getTime());
    const paused = await Sandbox.list({ query: { metadata: { who: 'info' }, state: ['paused'] } }).nextItems();
    assert.deepEqual(paused, []);
    const since = await Sandbox.list({
      query: { metadata: { who: 'info' }, startedAfter: info.startedAt },
    }).nextItems();
    assert.equal(since.length, 1, 'startedAfter is inclusive');
    const later = new Date(info.startedAt.getTime() + 1000);
    assert.deepEqual(await Sandbox.list({ query: { metadata: { who: 'info' }, startedAfter: later } }).nextItems(), []);
    assert.equal(
      (await Sandbox.list({ query: { metadata: { who: 'info' }, template: 'base' } }).nextItems()).length,
      1,
    );
    assert.deepEqual(await Sandbox.list({ query: { template: 'no-such-template' } }).nextItems(), []);
  });

  test('setTimeout shortens then extends; connect extends but never shortens', async (t) => {
    const sbx = await Sandbox.create({ timeoutMs: 300_000 });
    t.after(() => sbx.kill());
    await sbx.setTimeout(20_000);
    const short = (await sbx.getInfo()).endAt.getTime() - Date.now();
    assert.ok(short > 15_000 && short <= 20_000, `shortened to ~20 s (${short} ms)`);
    await sbx.setTimeout(400_000);
    const long = (await sbx.getInfo()).endAt.getTime() - Date.now();
    assert.ok(long > 395_000 && long <= 400_000, `extended to ~400 s (${long} ms)`);
    await Sandbox.connect(sbx.sandboxId, { timeoutMs: 10_000 });
    const kept = (await sbx.getInfo()).endAt.getTime() - Date.now();
    assert.ok(kept > 390_000, `connect did not shorten (${kept} ms)`);
    await Sandbox.connect(sbx.sandboxId, { timeoutMs: 900_000 });
    const extended = (await sbx.getInfo()).endAt.getTime() - Date.now();
    assert.ok(extended > 895_000 && extended <= 900_000, `connect extended (${extended} ms)`);
  });

  test('a 4 s sandbox is gone by 6 s; unknown ids answer as E2B does', async () => {
    const start = Date.now();
    const sbx = await Sandbox.create({ timeoutMs: 4_000 });
    assert.equal(await sbx.isRunning(), true);
    await sleep(Math.max(0, start + 6_000 - Date.now()));
    assert.equal(await sbx.isRunning(), false, 'envd answers 502 through the proxy');
    await assert.rejects(sbx.getInfo(), SandboxNotFoundError);
    await assert.rejects(Sandbox.connect(sbx.sandboxId), SandboxNotFoundError);
    assert.equal(await Sandbox.kill(sbx.sandboxId), false);
    assert.equal(await Sandbox.kill('unknown'), false);
    await assert.rejects(Sandbox.getInfo('unknown'), SandboxNotFoundError);
    await assert.rejects(Sandbox.setTimeout('unknown', 1000), SandboxNotFoundError);
  });

  test('metadata is updatable at runtime (PATCH merges, PUT replaces) and stays E2B-shaped', async (t) => {
    const sbx = await Sandbox.create({ metadata: { stage: 'dev', keep: 'yes' } });
    t.after(() => sbx.kill());
    const path = `/sandboxes/${sbx.sandboxId}/metadata`;
    const patched = await server.api('PATCH', path, { metadata: { stage: 'testing', version: '1.0', keep: null } });
    assert.equal(patched.status, 200);
    assert.deepEqual(((await patched.json()) as { metadata: unknown }).metadata, { stage: 'testing', version: '1.0' });
    assert.deepEqual((await sbx.getInfo()).metadata, { stage: 'testing', version: '1.0' });
    const found = await Sandbox.list({ query: { metadata: { version: '1.0', stage: 'testing' } } }).nextItems();
    assert.deepEqual(
      found.map((s) => s.sandboxId),
      [sbx.sandboxId],
    );
    assert.equal((await server.api('PUT', path, { metadata: { only: 'this' } })).status, 200);
    assert.deepEqual((await sbx.getInfo()).metadata, { only: 'this' });

    for (const bad of [{}, { metadata: 'x' }, { metadata: { k: 1 } }, { metadata: { '': 'v' } }]) {
      const res = await server.api('PUT', path, bad);
      assert.equal(res.status, 400, JSON.stringify(bad));
      assert.equal(((await res.json()) as { code: number }).code, 400);
    }
    const tooMany = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`k${i}`, 'v']));
    assert.equal((await server.api('PATCH', path, { metadata: tooMany })).status, 400, 'the merged result is checked');
    assert.deepEqual((await sbx.getInfo()).metadata, { only: 'this' }, 'a refused update changes nothing');
    assert.equal((await server.api('PUT', '/sandboxes/doesnotexist0000/metadata', { metadata: {} })).status, 404);
  });

  test('concurrent kill, setTimeout, connect and getInfo on one sandbox never corrupt it', async () => {
    const sbx = await Sandbox.create({ timeoutMs: 120_000 });
    const results = await Promise.allSettled([
      sbx.setTimeout(60_000),
      Sandbox.connect(sbx.sandboxId, { timeoutMs: 200_000 }),
      sbx.getInfo(),
      Sandbox.kill(sbx.sandboxId),
      sbx.setTimeout(30_000),
      Sandbox.connect(sbx.sandboxId),
      Sandbox.kill(sbx.sandboxId),
      sbx.getInfo(),
    ]);
    for (const r of results) {
      if (r.status === 'rejected') assert.ok(r.reason instanceof SandboxNotFoundError, String(r.reason));
    }
    const kills = [results[3], results[6]].map((r) => (r?.status === 'fulfilled' ? r.value : 'error'));
    assert.deepEqual(kills.sort(), [false, true], 'exactly one kill killed it');
    assert.equal(await sbx.isRunning(), false);
    await assert.rejects(sbx.getInfo(), SandboxNotFoundError);
    assert.ok(!server.logs.some((l) => l.includes('"unexpected error"')), 'no 500s');

    const other = await Sandbox.create({ timeoutMs: 120_000 });
    const wanted = [50_000, 70_000, 90_000];
    await Promise.all(wanted.map((ms) => other.setTimeout(ms)));
    const ttl = (await other.getInfo()).endAt.getTime() - Date.now();
    assert.ok(
      wanted.some((ms) => ttl > ms - 5_000 && ttl <= ms),
      `the deadline is one of the requested ones (${ttl})`,
    );
    await other.kill();
  });

  test('lifecycle events stream as SSE with causes, replay after Last-Event-ID, and stay in their team', async (t) => {
    const headers = { 'x-api-key': server.apiKey };
    const stream = await openSse(`${server.url}/events`, headers);
    t.after(() => stream.close());
    await stream.next((e) => e.event === 'ready');

    const sbx = await Sandbox.create({ timeoutMs: 2_000 });
    const ofIt = (type: string) => (e: { event: string; data: string }) =>
      e.event === type && (JSON.parse(e.data) as WireEvent).sandboxID === sbx.sandboxId;
    const created = JSON.parse((await stream.next(ofIt('created'))).data) as WireEvent;
    assert.equal(created.cause, 'user');
    await stream.next(ofIt('running'));
    const expired = JSON.parse((await stream.next(ofIt('killed'), 10_000)).data) as WireEvent;
    assert.equal(expired.cause, 'timeout', 'the deadline killed it');
    assert.ok(Date.parse(expired.timestamp) >= Date.parse(created.timestamp));

    const killedByUser = await Sandbox.create();
    await killedByUser.kill();
    const byUser = await stream.next(
      (e) => e.event === 'killed' && (JSON.parse(e.data) as WireEvent).sandboxID === killedByUser.sandboxId,
    );
    assert.equal((JSON.parse(byUser.data) as WireEvent).cause, 'user');

    // Reconnect after the `created` event: the replay brings what came after it, then `ready`.
    const replay = await openSse(`${server.url}/events?sandboxID=${sbx.sandboxId}`, {
      ...headers,
      'last-event-id': String(created.seq),
    });
    t.after(() => replay.close());
    await replay.next((e) => e.event === 'ready');
    assert.deepEqual(
      replay.received.filter((e) => e.event !== 'ready').map((e) => e.event),
      ['running', 'killed'],
    );
    assert.ok(replay.received.every((e) => e.event === 'ready' || Number(e.id) > created.seq));

    // Without a start point, `ready` names the latest recorded seq (a client resumes from it).
    const fresh = await openSse(`${server.url}/events?sandboxID=${sbx.sandboxId}`, headers);
    t.after(() => fresh.close());
    const ready = await fresh.next((e) => e.event === 'ready');
    assert.equal((JSON.parse(ready.data) as { lastSeq: number }).lastSeq, expired.seq);

    const history = await server.api('GET', `/sandboxes/${sbx.sandboxId}/events`);
    assert.deepEqual(
      ((await history.json()) as WireEvent[]).map((e) => `${e.type}:${e.cause}`),
      ['created:user', 'running:user', 'killed:timeout'],
    );

    // Another team's key sees none of it and cannot touch this team's sandboxes.
    server.cli(['team', 'create', `other${tag()}`]);
    const teams = server.cli(['team', 'list']).trim().split('\n');
    const otherTeam = teams.map((l) => l.split('\t')[0]).find((id) => id?.startsWith('other')) ?? '';
    const otherKey = server.cli(['key', 'create', '--team', otherTeam]).trim();
    const theirs = await openSse(`${server.url}/events?since=0`, { 'x-api-key': otherKey });
    t.after(() => theirs.close());
    await theirs.next((e) => e.event === 'ready');
    assert.deepEqual(
      theirs.received.filter((e) => e.event !== 'ready'),
      [],
    );
    const mine = await Sandbox.create();
    t.after(() => mine.kill());
    assert.equal(await Sandbox.kill(mine.sandboxId, { apiKey: otherKey }), false);
    await assert.rejects(Sandbox.getInfo(mine.sandboxId, { apiKey: otherKey }), SandboxNotFoundError);
    assert.deepEqual(await Sandbox.list({ apiKey: otherKey }).nextItems(), []);
    const foreign = await server.api('GET', `/sandboxes/${mine.sandboxId}/events`, undefined, {
      'x-api-key': otherKey,
    });
    assert.equal(foreign.status, 404);
    assert.equal(
      (await server.api('GET', '/events?since=-1')).status,
      400,
      'a bad resume point is a clear 400, not a stream',
    );
    assert.equal((await server.api('GET', '/events?sandboxID=../x')).status, 400);
  });
});
