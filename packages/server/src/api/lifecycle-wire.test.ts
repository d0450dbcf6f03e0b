import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openApiFixture } from '../testing/api-fixture.js';
import { testTeam } from '../testing/service-fixture.js';

function setup(t: { after: (fn: () => Promise<void>) => void }) {
  const api = openApiFixture();
  t.after(() => api.close());
  const call = (method: string, path: string, body?: unknown) =>
    api.request(path, {
      method,
      ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    });
  return { api, call };
}

/** Asserts the status (and for errors the E2B body); answers the parsed body. */
async function expectStatus(res: Response, status: number, message?: RegExp): Promise<unknown> {
  const text = await res.text();
  assert.equal(res.status, status, text);
  if (status >= 400) {
    const body = JSON.parse(text) as { code: number; message: string };
    assert.equal(body.code, status, 'E2B-shaped body');
    if (message) assert.match(body.message, message);
  }
  return text ? JSON.parse(text) : undefined;
}

test('moves the state machine refuses answer 409 with the E2B body, never 500', async (t) => {
  const { call } = setup(t);
  const created = (await (await call('POST', '/v2/sandboxes', { templateID: 'base' })).json()) as { sandboxID: string };
  const id = created.sandboxID;
  await expectStatus(await call('POST', `/sandboxes/${id}/resume`, {}), 409, /is running/);
  await expectStatus(await call('POST', `/sandboxes/${id}/pause`, {}), 204);
  await expectStatus(await call('POST', `/sandboxes/${id}/pause`, {}), 409, /is paused/);
  await expectStatus(await call('POST', `/sandboxes/${id}/timeout`, { timeout: 30 }), 409, /is paused/);
  await expectStatus(await call('DELETE', `/sandboxes/${id}`), 204);
  await expectStatus(await call('POST', `/sandboxes/${id}/pause`, {}), 404);
});

test('a timeout of 0 is accepted on create, set-timeout and connect; a negative one is 400', async (t) => {
  const { api, call } = setup(t);
  const created = await expectStatus(await call('POST', '/v2/sandboxes', { templateID: 'base', timeout: 0 }), 201);
  const born = (created as { sandboxID: string }).sandboxID;
  const other = ((await (await call('POST', '/v2/sandboxes', { templateID: 'base' })).json()) as { sandboxID: string })
    .sandboxID;
  await expectStatus(await call('POST', `/sandboxes/${other}/connect`, { timeout: 0 }), 200);
  await expectStatus(await call('POST', `/sandboxes/${other}/timeout`, { timeout: 0 }), 204);
  assert.equal(api.store.getSandbox(other)?.state, 'killed', 'set-timeout(0) answers once the sandbox has expired');
  await expectStatus(await call('POST', `/sandboxes/${other}/timeout`, { timeout: -1 }), 400, /timeout/);
  for (let i = 0; i < 100 && [born, other].some((id) => api.store.getSandbox(id)?.state !== 'killed'); i++) {
    await new Promise((r) => setTimeout(r, 20));
  }
  for (const id of [born, other]) {
    assert.equal(api.store.getSandbox(id)?.state, 'killed', `${id} expired at once`);
    const last = api.service.events.list(testTeam, { sandboxId: id, limit: 1 })[0];
    assert.equal(last?.cause, 'timeout');
  }
});

test('a kill whose teardown is blocked answers 503 with Retry-After, never 500; a second kill finishes it', async (t) => {
  const { api, call } = setup(t);
  const created = (await (await call('POST', '/v2/sandboxes', { templateID: 'base' })).json()) as { sandboxID: string };
  const id = created.sandboxID;
  api.runtime.failKills = 1;
  const blocked = await call('DELETE', `/sandboxes/${id}`);
  assert.ok(blocked.headers.get('retry-after'), 'Retry-After is sent');
  await expectStatus(blocked, 503, /teardown is incomplete/);
  assert.equal(api.store.getSandbox(id)?.state, 'killing', 'the row waits for the retry');
  await expectStatus(await call('GET', `/sandboxes/${id}`), 404);
  await expectStatus(await call('DELETE', `/sandboxes/${id}`), 204);
  assert.equal(api.store.getSandbox(id)?.state, 'killed');
  assert.equal(api.service.events.list(testTeam, { sandboxId: id, limit: 1 })[0]?.type, 'killed');
  await expectStatus(await call('DELETE', `/sandboxes/${id}`), 404);
});

test('phase: the server state beside E2B state, on the detail and in lists', async (t) => {
  const { call } = setup(t);
  const { sandboxID: id } = (await expectStatus(await call('POST', '/v2/sandboxes', { templateID: 'base' }), 201)) as {
    sandboxID: string;
  };
  const detail = async () =>
    (await expectStatus(await call('GET', `/sandboxes/${id}`), 200)) as Record<string, unknown>;
  assert.deepEqual([(await detail()).state, (await detail()).phase], ['running', 'running']);
  await expectStatus(await call('POST', `/sandboxes/${id}/pause`, {}), 204);
  assert.deepEqual([(await detail()).state, (await detail()).phase], ['paused', 'paused']);
  const listed = (await expectStatus(await call('GET', '/v2/sandboxes?state=paused'), 200)) as Array<{ phase: string }>;
  assert.deepEqual(
    listed.map((s) => s.phase),
    ['paused'],
  );
});
