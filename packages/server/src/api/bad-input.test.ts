import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { generateApiKey, registerApiKey } from '../auth/api-keys.js';
import { type ApiFixture, openApiFixture } from '../testing/api-fixture.js';
import { testTeam } from '../testing/service-fixture.js';

// Bad input on every control-plane route gets a clear 4xx with E2B's body `{code, message}`, in
// process (no root, no sandbox: the in-memory runtime). Never a 500.

type Call = (method: string, path: string, body?: string, headers?: Record<string, string>) => Promise<Response>;

function caller(api: ApiFixture): Call {
  return (method, path, body, headers = {}) =>
    api.request(path, {
      method,
      headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      ...(body === undefined ? {} : { body }),
    });
}

async function expectError(res: Response, status: number, message?: RegExp): Promise<void> {
  const text = await res.text();
  assert.equal(res.status, status, `status ${res.status}, body ${text}`);
  assert.match(res.headers.get('content-type') ?? '', /application\/json/);
  const body = JSON.parse(text) as { code: unknown; message: unknown };
  assert.equal(body.code, status, 'E2B-shaped body: numeric code equal to the status');
  assert.equal(typeof body.message, 'string');
  if (message) assert.match(body.message as string, message);
}

const json = (value: unknown) => JSON.stringify(value);

describe('the control plane answers bad input with a clean 4xx, in process', () => {
  const api = openApiFixture();
  const call = caller(api);
  let live = '';
  test.before(async () => {
    const res = await call('POST', '/v2/sandboxes', json({ templateID: 'base' }));
    assert.equal(res.status, 201);
    live = ((await res.json()) as { sandboxID: string }).sandboxID;
  });
  test.after(() => api.close());

  /** Every route that reads a JSON body, with the id of a live sandbox where it takes one. */
  const bodyRoutes = (): Array<[string, string]> => [
    ['POST', '/sandboxes'],
    ['POST', '/v2/sandboxes'],
    ['POST', `/sandboxes/${live}/timeout`],
    ['POST', `/sandboxes/${live}/connect`],
    ['POST', `/v2/sandboxes/${live}/connect`],
    ['POST', `/sandboxes/${live}/pause`],
    ['POST', `/sandboxes/${live}/resume`],
    ['PUT', `/sandboxes/${live}/metadata`],
    ['PATCH', `/sandboxes/${live}/metadata`],
    ['POST', `/sandboxes/${live}/close`],
  ];

  test('malformed JSON and bodies that are not objects are 400 on every route with a body', async () => {
    for (const [method, path] of bodyRoutes()) {
      await expectError(await call(method, path, '{"templateID": "base",'), 400, /JSON/);
      await expectError(await call(method, path, '{"a":1}}'), 400, /JSON/);
      for (const notAnObject of ['[1,2]', 'null', '"text"', '42', 'true']) {
        await expectError(await call(method, path, notAnObject), 400);
      }
    }
  });

  test('a body over the size limit is 400 on every route with a body', async () => {
    const huge = json({ templateID: 'base', metadata: { k: 'x'.repeat(2 * 1024 * 1024) } });
    for (const [method, path] of bodyRoutes()) {
      await expectError(await call(method, path, huge), 400, /exceeds/);
    }
  });

  test('unknown, malformed and hostile sandbox ids are 404 on every route that takes one', async () => {
    const ids = ['doesnotexist0000', '..%2F..%2Fetc', 'x'.repeat(500), 'ABCDEFGHIJKLMNOPQRST', '%00', '%20', 'a.b'];
    const routes = (id: string): Array<[string, string, string?]> => [
      ['GET', `/sandboxes/${id}`],
      ['DELETE', `/sandboxes/${id}`],
      ['POST', `/sandboxes/${id}/timeout`, json({ timeout: 10 })],
      ['POST', `/sandboxes/${id}/connect`, json({})],
      ['POST', `/v2/sandboxes/${id}/connect`, json({})],
      ['POST', `/sandboxes/${id}/pause`, json({})],
      ['POST', `/sandboxes/${id}/resume`, json({})],
      ['PUT', `/sandboxes/${id}/metadata`, json({ metadata: {} })],
      ['PATCH', `/sandboxes/${id}/metadata`, json({ metadata: {} })],
      ['POST', `/sandboxes/${id}/close`, json({})],
      ['GET', `/sandboxes/${id}/events`],
      ['GET', `/sandboxes/${id}/metrics`],
      ['POST', `/sandboxes/${id}/snapshots`, json({})],
      ['POST', `/sandboxes/${id}/fork`, json({})],
      ['PUT', `/sandboxes/${id}/network`, json({})],
    ];
    for (const id of ids) {
      for (const [method, path, body] of routes(id)) await expectError(await call(method, path, body), 404);
    }
  });

  test("another team's key cannot see or touch a sandbox: 404, as for an unknown one", async () => {
    api.store.createTeam({ ...testTeam, id: 't2', name: 't2' });
    const otherKey = generateApiKey();
    registerApiKey(api.store, 't2', otherKey);
    const stranger = (method: string, path: string, body?: string) =>
      api.app.request(path, {
        method,
        headers: { 'x-api-key': otherKey, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body }),
      });
    await expectError(await stranger('GET', `/sandboxes/${live}`), 404);
    await expectError(await stranger('DELETE', `/sandboxes/${live}`), 404);
    await expectError(await stranger('POST', `/sandboxes/${live}/timeout`, json({ timeout: 5 })), 404);
    await expectError(await stranger('POST', `/sandboxes/${live}/pause`, json({})), 404);
    await expectError(await stranger('PUT', `/sandboxes/${live}/metadata`, json({ metadata: { a: 'b' } })), 404);
    await expectError(await stranger('GET', `/sandboxes/${live}/events`), 404);
    await expectError(await stranger('POST', `/sandboxes/${live}/close`, json({ graceMs: 0 })), 404);
    const listed = (await (await stranger('GET', '/v2/sandboxes')).json()) as unknown[];
    assert.deepEqual(listed, []);
  });

  test('authentication: a missing, unknown or absurd key is 401', async () => {
    const bare = (headers: Record<string, string>) => api.app.request('/v2/sandboxes', { headers });
    await expectError(await bare({}), 401);
    await expectError(await bare({ 'x-api-key': 'e2b_0123456789abcdef0123' }), 401);
    await expectError(await bare({ 'x-api-key': 'x'.repeat(10_000) }), 401);
    await expectError(await bare({ 'x-api-key': '' }), 401);
  });

  test('create: missing or wrong templateID is 400, an unknown template is 404 with its name', async () => {
    for (const body of [{}, { templateID: 42 }, { templateID: '../etc' }, { templateID: '' }, { templateID: null }]) {
      await expectError(await call('POST', '/v2/sandboxes', json(body)), 400, /templateID/);
    }
    await expectError(await call('POST', '/v2/sandboxes', json({ templateID: 'x'.repeat(64) })), 400, /templateID/);
    await expectError(
      await call('POST', '/v2/sandboxes', json({ templateID: 'no-such-template' })),
      404,
      /no-such-template/,
    );
    await expectError(await call('POST', '/sandboxes', json({ templateID: 'no-such-template' })), 404);
  });

  test('timeouts: negative, fractional, huge, or not numbers are 400 wherever a timeout is taken', async () => {
    const bad: unknown[] = [-1, 1.5, 10 ** 12, '300', null, true, { s: 1 }, [1]];
    const routes: Array<[string, (timeout: unknown) => unknown]> = [
      ['/v2/sandboxes', (timeout) => ({ templateID: 'base', timeout })],
      [`/sandboxes/${live}/timeout`, (timeout) => ({ timeout })],
      [`/sandboxes/${live}/connect`, (timeout) => ({ timeout })],
      [`/sandboxes/${live}/resume`, (timeout) => ({ timeout })],
    ];
    for (const [path, body] of routes) {
      for (const timeout of bad) await expectError(await call('POST', path, json(body(timeout))), 400, /timeout/);
    }
    // 1e400 parses to Infinity.
    await expectError(await call('POST', `/sandboxes/${live}/timeout`, '{"timeout": 1e400}'), 400, /timeout/);
    await expectError(await call('POST', `/sandboxes/${live}/timeout`, '{}'), 400, /timeout/);
  });

  test('metadata: too many, too long, empty keys, or not strings are 400 on create and on update', async () => {
    const many = Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`k${i}`, 'v']));
    const bad: unknown[] = [
      many,
      { k: 'v'.repeat(100_000) },
      { ['k'.repeat(1000)]: 'v' },
      { '': 'v' },
      { k: 1 },
      { k: { nested: 'v' } },
      { k: ['v'] },
      'text',
      ['a', 'b'],
    ];
    for (const metadata of bad) {
      await expectError(await call('POST', '/v2/sandboxes', json({ templateID: 'base', metadata })), 400, /metadata/);
      await expectError(await call('PUT', `/sandboxes/${live}/metadata`, json({ metadata })), 400, /metadata/);
    }
    await expectError(await call('PUT', `/sandboxes/${live}/metadata`, json({})), 400, /metadata/);
    await expectError(await call('PATCH', `/sandboxes/${live}/metadata`, json({ metadata: { k: 1 } })), 400);
    // A merge that grows past the limit is refused, and leaves the metadata as it was.
    await expectError(await call('PATCH', `/sandboxes/${live}/metadata`, json({ metadata: many })), 400, /metadata/);
    const info = (await (await call('GET', `/sandboxes/${live}`)).json()) as { metadata?: Record<string, string> };
    assert.deepEqual(info.metadata ?? {}, {});
  });

  test('envVars: bad names, non-string or NUL values, too many are 400', async () => {
    const tooMany = Object.fromEntries(Array.from({ length: 600 }, (_, i) => [`V${i}`, 'v']));
    for (const envVars of [{ 'A=B': 'x' }, { '1A': 'x' }, { A: 1 }, { A: 'a\0b' }, tooMany, 'A=B', ['A']]) {
      await expectError(await call('POST', '/v2/sandboxes', json({ templateID: 'base', envVars })), 400, /env/);
    }
  });

  test('lifecycle options of the wrong type are 400', async () => {
    const bad: Array<Record<string, unknown>> = [
      { secure: 'yes' },
      { allow_internet_access: 1 },
      { autoPause: 'true' },
      { autoPauseMemory: 0 },
      { autoResume: true },
      { autoResume: { enabled: 'yes' } },
      { autoPause: true, autoPauseMemory: false, autoResume: { enabled: true } },
    ];
    for (const options of bad) {
      await expectError(await call('POST', '/v2/sandboxes', json({ templateID: 'base', ...options })), 400);
    }
    await expectError(await call('POST', `/sandboxes/${live}/pause`, json({ memory: 'yes' })), 400, /memory/);
    await expectError(await call('POST', `/sandboxes/${live}/connect`, json({ memory: 1 })), 400, /memory/);
  });

  test('list and event query parameters out of range are 400', async () => {
    const badLists = [
      'limit=0',
      'limit=-1',
      'limit=101',
      'limit=abc',
      'limit=1.5',
      'state=exploded',
      'state=running,exploded',
      'nextToken=garbage',
      'metadata=%ZZ',
      'startedAfter=yesterday',
      'order=sideways',
    ];
    for (const query of badLists) await expectError(await call('GET', `/v2/sandboxes?${query}`), 400);
    for (const query of ['since=-1', 'since=abc', 'limit=0', 'limit=1001', 'limit=x']) {
      await expectError(await call('GET', `/sandboxes/${live}/events?${query}`), 400);
    }
    for (const query of ['since=-1', 'since=1.5', 'sandboxID=..%2Fetc']) {
      await expectError(await call('GET', `/events?${query}`), 400);
    }
    await expectError(await call('GET', '/events', undefined, { 'last-event-id': 'x' }), 400);
    // An unknown template in a filter is simply an empty page.
    const res = await call('GET', '/v2/sandboxes?template=nothing-like-this');
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), []);
  });

  test('unknown routes and methods are JSON 404 from the catalog', async () => {
    await expectError(await call('GET', '/no/such/route'), 404, /no route for GET/);
    await expectError(await call('PATCH', '/v2/sandboxes'), 404, /no route/);
    await expectError(await call('DELETE', '/v2/sandboxes'), 404, /no route/);
  });

  test('nothing above left the live sandbox changed', async () => {
    const res = await call('GET', `/sandboxes/${live}`);
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { state: string }).state, 'running');
  });
});
