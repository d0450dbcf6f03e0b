import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import { needsSandboxHost } from '@sandboxd/runtime/testing';
import { Sandbox, SandboxNotFoundError } from 'e2b';
import { startTestServer, type TestServer } from '../support/server-harness.js';
import { openSse } from '../support/sse.js';

interface Created {
  sandboxID: string;
  envdAccessToken: string;
}

/** One request to the server's single port with whatever Host and headers a client could send. */
function raw(
  serverUrl: string,
  pathname: string,
  headers: Record<string, string>,
): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(serverUrl);
  return new Promise((resolve, reject) => {
    const req = http.get({ hostname, port, path: pathname, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
  });
}

// Issue #12: team B's key, and anything team B's own sandboxes hand out (envd tokens, signed
// URLs), reaches none of team A's sandboxes, through the API or through the proxy, against a
// real server with real sandboxes.
describe("one team cannot reach another team's sandboxes", needsSandboxHost, () => {
  let server: TestServer;
  let keyB: string;
  let a: Created;
  let b: Created;
  const markerA = `team-a-${randomBytes(8).toString('hex')}`;
  const markerB = `team-b-${randomBytes(8).toString('hex')}`;
  const asB = (method: string, pathname: string, body?: unknown) =>
    server.api(method, pathname, body, { 'x-api-key': keyB });

  before(async () => {
    server = await startTestServer({ env: { SANDBOXD_WARM_POOL: '0' } });
    server.useForE2b();
    server.cli(['team', 'create', 'team-b']);
    keyB = server.cli(['key', 'create', '--team', 'team-b']).trim();
    const create = async (key: string, marker: string) => {
      const res = await server.api(
        'POST',
        '/v2/sandboxes',
        { templateID: 'base', metadata: { owner: marker } },
        {
          'x-api-key': key,
        },
      );
      assert.equal(res.status, 201);
      const created = (await res.json()) as Created;
      const sbx = await Sandbox.connect(created.sandboxID, { apiKey: key });
      await sbx.files.write('/home/user/marker.txt', marker);
      return created;
    };
    [a, b] = await Promise.all([create(server.apiKey, markerA), create(keyB, markerB)]);
  });
  after(async () => {
    // The harness kills only the default team's sandboxes: team B's first, with B's key.
    if (keyB) {
      const res = await asB('GET', '/v2/sandboxes?state=running,paused').catch(() => undefined);
      const left = ((await res?.json().catch(() => [])) ?? []) as Array<{ sandboxID: string }>;
      await Promise.all(left.map((s) => asB('DELETE', `/sandboxes/${s.sandboxID}`).catch(() => {})));
    }
    await server?.stop();
  });

  const aliveAndUnchanged = async () => {
    const res = await server.api('GET', `/sandboxes/${a.sandboxID}`);
    assert.equal(res.status, 200, "A's own key still sees it");
    const info = (await res.json()) as { state: string; metadata: Record<string, string> };
    assert.equal(info.state, 'running');
    assert.deepEqual(info.metadata, { owner: markerA });
  };

  test("B's key: every API call on A's id answers as for an id that does not exist", async () => {
    const unknownId = `zz${randomBytes(9).toString('hex')}`;
    const calls = (id: string): Array<[string, string, unknown?]> => [
      ['GET', `/sandboxes/${id}`],
      ['DELETE', `/sandboxes/${id}`],
      ['POST', `/sandboxes/${id}/timeout`, { timeout: 1 }],
      ['POST', `/sandboxes/${id}/pause`, {}],
      ['POST', `/sandboxes/${id}/resume`, {}],
      ['POST', `/sandboxes/${id}/connect`, { timeout: 60 }],
      ['POST', `/v2/sandboxes/${id}/connect`, { timeout: 60 }],
      ['PUT', `/sandboxes/${id}/metadata`, { metadata: { owner: 'b' } }],
      ['PATCH', `/sandboxes/${id}/metadata`, { metadata: { owner: 'b' } }],
      ['POST', `/sandboxes/${id}/close`, { graceMs: 0 }],
      ['GET', `/sandboxes/${id}/events`],
      ['GET', `/sandboxes/${id}/metrics`],
      ['POST', `/sandboxes/${id}/snapshots`, {}],
      ['POST', `/sandboxes/${id}/fork`, {}],
      ['PUT', `/sandboxes/${id}/network`, {}],
    ];
    for (const [[method, pathname, body], [, unknownPath]] of calls(a.sandboxID).map(
      (c, i) => [c, calls(unknownId)[i] ?? c] as const,
    )) {
      const theirs = await asB(method, pathname, body);
      const text = await theirs.text();
      const none = await asB(method, unknownPath, body);
      assert.equal(theirs.status, 404, `${method} ${pathname}: ${text}`);
      assert.equal(none.status, theirs.status, `${method} ${pathname}: the same answer as for an unknown id`);
      await none.body?.cancel();
      assert.doesNotMatch(text, new RegExp(`${a.envdAccessToken}|${markerA}`), 'nothing of A in the answer');
    }
    for (const list of [
      '/sandboxes',
      '/v2/sandboxes',
      '/v2/sandboxes?state=running,paused',
      `/v2/sandboxes?metadata=owner%3D${markerA}`,
    ]) {
      const ids = ((await (await asB('GET', list)).json()) as Array<{ sandboxID: string }>).map((s) => s.sandboxID);
      assert.ok(!ids.includes(a.sandboxID), `${list} as B does not list A`);
    }
    await aliveAndUnchanged();
  });

  test("B's key through the official SDK: connect, info, kill, metadata, timeout all fail", async () => {
    const opts = { apiKey: keyB };
    await assert.rejects(Sandbox.connect(a.sandboxID, opts), SandboxNotFoundError);
    await assert.rejects(Sandbox.getInfo(a.sandboxID, opts), SandboxNotFoundError);
    await assert.rejects(Sandbox.setTimeout(a.sandboxID, 1_000, opts), SandboxNotFoundError);
    assert.equal(await Sandbox.kill(a.sandboxID, opts), false);
    const listed = await Sandbox.list({ ...opts, query: { state: ['running', 'paused'] } }).nextItems();
    assert.deepEqual(
      listed.map((s) => s.sandboxId),
      [b.sandboxID],
    );
    await aliveAndUnchanged();
  });

  test("B's event streams never carry A's events, even filtered by A's id", async (t) => {
    const stream = await openSse(`${server.url}/events?sandboxID=${a.sandboxID}&since=0`, { 'x-api-key': keyB });
    t.after(() => stream.close());
    const ready = await stream.next((e) => e.event === 'ready');
    assert.deepEqual(JSON.parse(ready.data), { lastSeq: 0 }, "not even A's latest seq");
    const all = await openSse(`${server.url}/events?since=0`, { 'x-api-key': keyB });
    t.after(() => all.close());
    await all.next((e) => e.event === 'ready');
    // Things happen to team A: another of its sandboxes starts and is killed.
    const a2 = await Sandbox.create({ apiKey: server.apiKey });
    await a2.kill();
    const historyA = (await (await server.api('GET', `/sandboxes/${a2.sandboxId}/events`)).json()) as unknown[];
    assert.ok(historyA.length >= 3, "A's own key sees those events");
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual(
      stream.received.filter((e) => e.event !== 'ready'),
      [],
    );
    // B's own stream is live: an event of B's own arrives on it (so the silence above is not a dead stream).
    const b2 = await Sandbox.create({ apiKey: keyB });
    await b2.kill();
    await all.next((e) => e.event !== 'ready' && e.data.includes(b2.sandboxId), 10_000);
    const seen = all.received
      .filter((e) => e.event !== 'ready')
      .map((e) => JSON.parse(e.data) as { sandboxID: string });
    assert.ok(
      seen.every((e) => e.sandboxID === b.sandboxID || e.sandboxID === b2.sandboxId),
      `B's stream holds only B's events: ${JSON.stringify(seen)}`,
    );
  });

  test("the proxy: A's envd refuses no token, B's token and B's signed URLs, by header or by Host", async () => {
    const domain = new URL(server.url).host;
    const readMarker = `/files?path=${encodeURIComponent('/home/user/marker.txt')}&username=user`;
    const attempts: Array<[string, Record<string, string>, string?]> = [
      ['header, no token', { 'e2b-sandbox-id': a.sandboxID }],
      ['header, B token', { 'e2b-sandbox-id': a.sandboxID, 'x-access-token': b.envdAccessToken }],
      [
        'header with port, B token',
        { 'e2b-sandbox-id': a.sandboxID, 'e2b-sandbox-port': '49983', 'x-access-token': b.envdAccessToken },
      ],
      ['Host, no token', { host: `49983-${a.sandboxID}.${domain}` }],
      ['Host, B token', { host: `49983-${a.sandboxID}.${domain}`, 'x-access-token': b.envdAccessToken }],
      [
        'Host upper-case, B token',
        { host: `49983-${a.sandboxID.toUpperCase()}.${domain}`, 'x-access-token': b.envdAccessToken },
      ],
      [
        'Host on another domain, B token',
        { host: `49983-${a.sandboxID}.evil.example`, 'x-access-token': b.envdAccessToken },
      ],
      // Two ways of naming a sandbox at once: whichever wins, B's token never opens A.
      [
        'Host A + header B, B token',
        { host: `49983-${a.sandboxID}.${domain}`, 'e2b-sandbox-id': b.sandboxID, 'x-access-token': b.envdAccessToken },
      ],
      [
        'Host B + header A, B token',
        { host: `49983-${b.sandboxID}.${domain}`, 'e2b-sandbox-id': a.sandboxID, 'x-access-token': b.envdAccessToken },
      ],
      ['API key of B as the token', { 'e2b-sandbox-id': a.sandboxID, 'x-access-token': keyB, 'x-api-key': keyB }],
    ];
    const sbxB = await Sandbox.connect(b.sandboxID, { apiKey: keyB });
    const signedB = new URL(await sbxB.downloadUrl('/home/user/marker.txt', { user: 'user' }));
    const signedPath = `${signedB.pathname}${signedB.search}`;
    attempts.push(
      ["B's signed URL, routed to A by header", { 'e2b-sandbox-id': a.sandboxID }, signedPath],
      ["B's signed URL, routed to A by Host", { host: `49983-${a.sandboxID}.${domain}` }, signedPath],
    );
    const rows: string[] = [];
    for (const [what, headers, pathname] of attempts) {
      const res = await raw(server.url, pathname ?? readMarker, headers);
      rows.push(`${what.padEnd(40)} ${res.status}`);
      assert.ok(!res.body.includes(markerA), `${what}: A's file must not be served (${res.status})`);
      assert.ok(
        res.status >= 400 || res.body.includes(markerB),
        `${what}: only B's own file, if anything (${res.status})`,
      );
    }
    console.log(rows.join('\n'));
    // The same requests with A's own token work: the refusals above are about the credential.
    const own = await raw(server.url, readMarker, {
      'e2b-sandbox-id': a.sandboxID,
      'x-access-token': a.envdAccessToken,
    });
    assert.equal(own.status, 200);
    assert.equal(own.body, markerA);
    await aliveAndUnchanged();
  });
});
