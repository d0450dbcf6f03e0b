import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { getRequestListener } from '@hono/node-server';
import { silentLogger } from '@sandboxd/common';
import { ConfigError, loadConfig } from './config.js';
import { corsDefaultAllowHeaders, createCors, parseCorsOrigins } from './cors.js';
import { closeHttpServer, createHttpFront } from './http-front.js';
import { createMetrics } from './metrics/registry.js';
import { SandboxProxy } from './proxy/sandbox-proxy.js';
import { openApiFixture } from './testing/api-fixture.js';

const load = (env: Record<string, string>, argv: string[] = []) => loadConfig({ env, argv, repoRoot: '/tmp' });
const problemsOf = (env: Record<string, string>, argv: string[] = []): string[] => {
  try {
    load(env, argv);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  assert.fail('the config was accepted');
};

test('CORS is off by default; origins come from the environment or the flag (the flag wins)', () => {
  assert.deepEqual(load({}).corsOrigins, []);
  assert.deepEqual(load({ SANDBOXD_CORS_ORIGINS: '' }).corsOrigins, [], 'empty is off');
  assert.deepEqual(load({ SANDBOXD_CORS_ORIGINS: ' http://localhost:5173 , https://app.example.com ' }).corsOrigins, [
    'http://localhost:5173',
    'https://app.example.com',
  ]);
  assert.deepEqual(load({ SANDBOXD_CORS_ORIGINS: 'http://a.test' }, ['--cors-origins', '*']).corsOrigins, ['*']);
  assert.deepEqual(load({}, ['--cors-origins=http://127.0.0.1:8080']).corsOrigins, ['http://127.0.0.1:8080']);
  assert.deepEqual(parseCorsOrigins('http://a.test,http://a.test', 'x').origins, ['http://a.test'], 'deduplicated');
});

test('a bad origin is a startup error that names the setting and the fix', () => {
  assert.deepEqual(problemsOf({ SANDBOXD_CORS_ORIGINS: 'http://localhost:5173/' }), [
    "SANDBOXD_CORS_ORIGINS: 'http://localhost:5173/' is not an origin as browsers send it (write http://localhost:5173)",
  ]);
  const [noScheme] = problemsOf({}, ['--cors-origins', 'localhost:5173']);
  assert.match(noScheme ?? '', /^--cors-origins: 'localhost:5173' is not an http\(s\) origin/);
  assert.match(problemsOf({}, ['--cors-origins', 'nonsense'])[0] ?? '', /is not an origin \(write scheme:\/\/host/);
  assert.match(problemsOf({ SANDBOXD_CORS_ORIGINS: 'https://a.test/app?x=1' })[0] ?? '', /write https:\/\/a\.test\)/);
  assert.match(problemsOf({ SANDBOXD_CORS_ORIGINS: 'http://A.test' })[0] ?? '', /write http:\/\/a\.test\)/);
  assert.match(problemsOf({ SANDBOXD_CORS_ORIGINS: '*,http://a.test' })[0] ?? '', /cannot be combined/);
  assert.equal(createCors([]), undefined, 'off: no handler at all');
});

/** The real HTTP front with the real API (auth, rate limit) and the real proxy, on a loopback port. */
async function startFront(
  t: { after(fn: () => unknown): void },
  corsOrigins: string,
  env: Record<string, string> = {},
) {
  const fixture = openApiFixture({ env });
  const proxy = new SandboxProxy({
    route: (id) => fixture.service.route(id),
    signedCandidates: () => [],
    logger: silentLogger,
    metrics: createMetrics({ runningSandboxes: () => 0 }),
  });
  const server = createHttpFront({
    api: getRequestListener(fixture.app.fetch),
    proxy,
    service: fixture.service,
    cors: createCors(parseCorsOrigins(corsOrigins, 'test').origins),
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(async () => {
    await closeHttpServer(server, 100);
    proxy.close();
    await fixture.close();
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, apiKey: fixture.apiKey };
}

const preflight = (url: string, origin: string, headers: Record<string, string> = {}) =>
  fetch(url, {
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': 'POST', ...headers },
  });

test('an allowed origin gets its preflight answered with no key, on API and proxy routes alike', async (t) => {
  const { url } = await startFront(t, 'http://app.test:8080');
  const requested = 'x-api-key, content-type, e2b-sandbox-id, e2b-sandbox-port, x-access-token, x-metadata-owner';
  for (const [path, extra] of [
    ['/sandboxes', {}],
    ['/process.Process/Start', { 'e2b-sandbox-id': 'inotexist123', 'e2b-sandbox-port': '49983' }],
  ] as const) {
    const res = await preflight(`${url}${path}`, 'http://app.test:8080', {
      'access-control-request-headers': requested,
      ...extra,
    });
    assert.equal(res.status, 204, path);
    assert.equal(res.headers.get('access-control-allow-origin'), 'http://app.test:8080');
    assert.equal(res.headers.get('access-control-allow-headers'), requested, 'the requested headers are echoed');
    assert.match(res.headers.get('access-control-allow-methods') ?? '', /\bDELETE\b/);
    assert.equal(res.headers.get('access-control-max-age'), '600');
    assert.match(res.headers.get('vary') ?? '', /Origin/);
    assert.equal(await res.text(), '');
  }
  const bare = await preflight(`${url}/sandboxes`, 'http://app.test:8080', {
    'access-control-request-private-network': 'true',
  });
  assert.equal(bare.headers.get('access-control-allow-headers'), corsDefaultAllowHeaders);
  assert.equal(bare.headers.get('access-control-allow-private-network'), 'true');
});

test('real answers from an allowed origin carry the headers: success, errors, proxy errors, streams', async (t) => {
  const { url, apiKey } = await startFront(t, 'http://app.test:8080');
  const origin = 'http://app.test:8080';
  const ok = await fetch(`${url}/v2/sandboxes`, { headers: { origin, 'x-api-key': apiKey } });
  assert.equal(ok.status, 200);
  const unauthorized = await fetch(`${url}/v2/sandboxes`, { headers: { origin, 'x-api-key': 'e2b_0000' } });
  assert.equal(unauthorized.status, 401);
  const proxied = await fetch(`${url}/files?path=/x`, {
    headers: { origin, 'e2b-sandbox-id': 'inotexist123', 'e2b-sandbox-port': '49983' },
  });
  assert.equal(proxied.status, 502, 'the proxy answered: no such sandbox');
  const abort = new AbortController();
  const stream = await fetch(`${url}/events`, { headers: { origin, 'x-api-key': apiKey }, signal: abort.signal });
  assert.equal(stream.status, 200);
  assert.match(stream.headers.get('content-type') ?? '', /text\/event-stream/);
  abort.abort();
  for (const res of [ok, unauthorized, proxied, stream]) {
    assert.equal(res.headers.get('access-control-allow-origin'), origin, `status ${res.status}`);
    assert.equal(res.headers.get('access-control-expose-headers'), '*');
    assert.match(res.headers.get('vary') ?? '', /Origin/);
    await res.body?.cancel().catch(() => undefined);
  }
});

test('an origin not on the list gets no CORS headers: its preflight reaches the API and is refused', async (t) => {
  const { url, apiKey } = await startFront(t, 'http://app.test:8080');
  const res = await preflight(`${url}/sandboxes`, 'http://evil.test');
  assert.equal(res.status, 401, 'no key: the API refuses it');
  assert.equal(res.headers.get('access-control-allow-origin'), null);
  await res.body?.cancel();
  const get = await fetch(`${url}/v2/sandboxes`, { headers: { origin: 'http://evil.test', 'x-api-key': apiKey } });
  assert.equal(get.status, 200, 'the server still answers; the browser withholds it');
  assert.equal(get.headers.get('access-control-allow-origin'), null);
  assert.equal(get.headers.get('vary'), 'Origin');
  await get.body?.cancel();
});

test('with * any origin is allowed and answered with *; preflights never count against the rate limit', async (t) => {
  const { url, apiKey } = await startFront(t, '*', { SANDBOXD_RATE_LIMIT: '1', SANDBOXD_RATE_BURST_SECONDS: '1' });
  for (let i = 0; i < 20; i++) {
    const res = await preflight(`${url}/sandboxes`, `http://site${i}.test`);
    assert.equal(res.status, 204);
    assert.equal(res.headers.get('access-control-allow-origin'), '*');
  }
  let limited: Response | undefined;
  for (let i = 0; i < 5 && !limited; i++) {
    const res = await fetch(`${url}/v2/sandboxes`, { headers: { origin: 'http://x.test', 'x-api-key': apiKey } });
    if (res.status === 429) limited = res;
    else await res.body?.cancel();
  }
  assert.ok(limited, 'a real request is rate limited');
  assert.equal(limited.headers.get('access-control-allow-origin'), '*', 'so the page can read the 429');
  assert.ok(limited.headers.get('retry-after'));
  assert.equal(limited.headers.get('vary'), null, 'the answer does not depend on Origin');
});
