import { type Clock, silentLogger } from '@sandboxd/common';
import type { Hono } from 'hono';
import { createApi } from '../api/app.js';
import type { ApiEnv } from '../api/request.js';
import { generateApiKey, registerApiKey } from '../auth/api-keys.js';
import { type Config, loadConfig } from '../config.js';
import { createMetrics } from '../metrics/registry.js';
import type { Team } from '../store/store.js';
import { openServiceFixture, type ServiceFixture, testTeam } from './service-fixture.js';

export interface ApiFixture extends ServiceFixture {
  app: Hono<ApiEnv>;
  config: Readonly<Config>;
  apiKey: string;
  /** One request through the real API stack (auth, rate limit, routes, error mapping). */
  request(path: string, init?: RequestInit): Promise<Response>;
}

/** The control-plane API over a real SQLite store and the in-memory runtime, without a socket. */
export function openApiFixture(
  options: { env?: Record<string, string>; clock?: Clock; teams?: Team[] } = {},
): ApiFixture {
  const clock = options.clock ?? { now: () => Date.now() };
  const fixture = openServiceFixture({
    clock,
    teams: options.teams ?? [{ ...testTeam, maxConcurrentSandboxes: 100_000 }],
  });
  const apiKey = generateApiKey();
  registerApiKey(fixture.store, testTeam.id, apiKey);
  const config = loadConfig({ env: { SANDBOXD_RATE_LIMIT: '0', ...options.env }, argv: [], repoRoot: fixture.dir });
  const metrics = createMetrics({ runningSandboxes: () => fixture.service.runningCount() });
  const app = createApi({
    config,
    store: fixture.store,
    service: fixture.service,
    metrics,
    logger: silentLogger,
    clock,
    publicDomain: () => 'localhost',
  });
  return {
    ...fixture,
    app,
    config,
    apiKey,
    request: async (path, init = {}) =>
      app.request(path, { ...init, headers: { 'x-api-key': apiKey, ...(init.headers as Record<string, string>) } }),
  };
}
