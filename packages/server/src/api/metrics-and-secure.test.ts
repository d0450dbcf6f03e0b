import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_TEAM_ID, generateApiKey, registerApiKey } from '../auth/api-keys.js';
import { openApiFixture } from '../testing/api-fixture.js';
import { testTeam } from '../testing/service-fixture.js';

// Issue #12, finding 2: /metrics was public, and a v1 create without `secure` gave an envd
// that anyone who knew the sandbox id could drive through the proxy.

test('/metrics: only a default-team key or the metrics bearer token may scrape it', async (t) => {
  const metricsToken = 'scrape-me-0123456789';
  const api = openApiFixture({
    env: { SANDBOXD_METRICS_TOKEN: metricsToken },
    teams: [testTeam, { ...testTeam, id: DEFAULT_TEAM_ID, name: DEFAULT_TEAM_ID }],
  });
  t.after(() => api.close());
  const operatorKey = generateApiKey();
  registerApiKey(api.store, DEFAULT_TEAM_ID, operatorKey);
  const get = (headers: Record<string, string>) => api.app.request('/metrics', { headers });

  const refused: Array<[string, Record<string, string>]> = [
    ['no credential', {}],
    ['a tenant (non-default team) key', { 'x-api-key': api.apiKey }],
    ['an unknown key', { 'x-api-key': generateApiKey() }],
    ['a wrong bearer token', { authorization: 'Bearer scrape-me-wrong' }],
    ['the token without "Bearer"', { authorization: metricsToken }],
    ['the token as an API key', { 'x-api-key': metricsToken }],
  ];
  for (const [what, headers] of refused) {
    const res = await get(headers);
    assert.equal(res.status, 401, what);
    assert.doesNotMatch(await res.text(), /sandboxd_/, `${what}: no metric leaks in the refusal`);
  }
  for (const [what, headers] of [
    ['the default team key', { 'x-api-key': operatorKey }],
    ['the metrics token', { authorization: `Bearer ${metricsToken}` }],
  ] as const) {
    const res = await get(headers);
    assert.equal(res.status, 200, what);
    assert.match(await res.text(), /^# HELP sandboxd_/m, what);
  }
});

test('/metrics without SANDBOXD_METRICS_TOKEN: a bearer token opens nothing', async (t) => {
  const api = openApiFixture();
  t.after(() => api.close());
  assert.equal((await api.app.request('/metrics', { headers: { authorization: 'Bearer x' } })).status, 401);
  assert.equal((await api.app.request('/metrics', { headers: { authorization: 'Bearer ' } })).status, 401);
});

test('creates are secure unless a v1 client explicitly says secure:false', async (t) => {
  const api = openApiFixture();
  t.after(() => api.close());
  const create = async (path: string, body: Record<string, unknown>) => {
    const res = await api.request(path, {
      method: 'POST',
      body: JSON.stringify({ templateID: 'base', ...body }),
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(res.status, 201, await res.clone().text());
    return ((await res.json()) as { envdAccessToken?: string | null }).envdAccessToken;
  };
  for (const [path, body, secure] of [
    ['/sandboxes', {}, true],
    ['/sandboxes', { secure: true }, true],
    ['/sandboxes', { secure: false }, false],
    ['/v2/sandboxes', {}, true],
    ['/v2/sandboxes', { secure: false }, true],
  ] as const) {
    const token = await create(path, body);
    const what = `${path} ${JSON.stringify(body)}`;
    if (secure) assert.match(token ?? '', /^\S{16,}$/, `${what}: an envd access token`);
    else assert.ok(!token, `${what}: no token, as asked`);
  }
});
