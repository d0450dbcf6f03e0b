import assert from 'node:assert/strict';
import { test } from 'node:test';
import { generateApiKey, registerApiKey } from '../auth/api-keys.js';
import { type ApiFixture, openApiFixture } from '../testing/api-fixture.js';
import { testTeam } from '../testing/service-fixture.js';

function create(api: ApiFixture, body: unknown, key?: string, apiKey?: string) {
  return api.request('/v2/sandboxes', {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(key === undefined ? {} : { 'idempotency-key': key }),
      ...(apiKey === undefined ? {} : { 'x-api-key': apiKey }),
    },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

async function sandboxIdOf(res: Response): Promise<string> {
  const text = await res.text();
  assert.equal(res.status, 201, text);
  return (JSON.parse(text) as { sandboxID: string }).sandboxID;
}

function openFixture(t: { after: (fn: () => Promise<void>) => void }): ApiFixture {
  const api = openApiFixture();
  t.after(() => api.close());
  return api;
}

test('a retry with the same Idempotency-Key gets the same sandbox, not a second one', async (t) => {
  const api = openFixture(t);
  const key = '0b7e5c2a-9f1d-4c3b-8a6e-5d4f3e2c1b0a';
  const first = await sandboxIdOf(await create(api, { templateID: 'base', metadata: { a: '1' } }, key));
  // The same request written differently (key order, spacing) is the same request.
  const again = await sandboxIdOf(await create(api, '{ "metadata": {"a": "1"}, "templateID": "base" }', key));
  assert.equal(again, first);
  assert.equal(api.runtime.live.size, 1, 'one sandbox was started');
  const other = await sandboxIdOf(await create(api, { templateID: 'base', metadata: { a: '1' } }, 'another-key'));
  assert.notEqual(other, first);
  const unkeyed = await sandboxIdOf(await create(api, { templateID: 'base' }));
  assert.ok(![first, other].includes(unkeyed), 'without a key every create is a new sandbox');
});

test('concurrent retries with one key join the first create', async (t) => {
  const api = openFixture(t);
  const answers = await Promise.all(Array.from({ length: 5 }, () => create(api, { templateID: 'base' }, 'k-1')));
  const ids = await Promise.all(answers.map(sandboxIdOf));
  assert.equal(new Set(ids).size, 1);
  assert.equal(api.runtime.live.size, 1);
});

test('the same key with a different request is 422 idempotency_request_mismatch', async (t) => {
  const api = openFixture(t);
  await sandboxIdOf(await create(api, { templateID: 'base', timeout: 60 }, 'k-2'));
  const res = await create(api, { templateID: 'base', timeout: 120 }, 'k-2');
  assert.equal(res.status, 422);
  assert.deepEqual(await res.json(), {
    code: 422,
    message: 'this Idempotency-Key was used with a different request',
    error_code: 'idempotency_request_mismatch',
  });
  assert.equal(api.runtime.live.size, 1);
});

test('keys belong to a team: another team with the same key gets its own sandbox', async (t) => {
  const api = openFixture(t);
  api.store.createTeam({ ...testTeam, id: 't2', name: 't2' });
  const otherKey = generateApiKey();
  registerApiKey(api.store, 't2', otherKey);
  const mine = await sandboxIdOf(await create(api, { templateID: 'base' }, 'shared'));
  const theirs = await sandboxIdOf(await create(api, { templateID: 'base' }, 'shared', otherKey));
  assert.notEqual(mine, theirs);
});

test('a failure a retry may cure is forgotten; a definite answer is kept', async (t) => {
  const api = openFixture(t);
  api.runtime.failNextCreate = true;
  const failed = await create(api, { templateID: 'base' }, 'k-3');
  assert.equal(failed.status, 500);
  const retried = await sandboxIdOf(await create(api, { templateID: 'base' }, 'k-3'));
  assert.equal(await sandboxIdOf(await create(api, { templateID: 'base' }, 'k-3')), retried);

  const missing = await create(api, { templateID: 'no-such-template' }, 'k-4');
  assert.equal(missing.status, 404);
  assert.equal((await create(api, { templateID: 'no-such-template' }, 'k-4')).status, 404);
});

test('a key the SDKs would never send is 400', async (t) => {
  const api = openFixture(t);
  for (const key of ['UPPER', 'with space', 'x'.repeat(256), 'semi;colon', 'ü']) {
    const res = await create(api, { templateID: 'base' }, key);
    assert.equal(res.status, 400, key);
    assert.match(((await res.json()) as { message: string }).message, /Idempotency-Key/);
  }
  assert.equal(api.runtime.live.size, 0);
});
