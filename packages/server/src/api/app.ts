import { type Clock, type Logger, SandboxdError } from '@sandboxd/common';
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { authenticate } from '../auth/api-keys.js';
import { authorizeMetrics } from '../auth/metrics-access.js';
import { RateLimiter } from '../auth/rate-limiter.js';
import type { Config } from '../config.js';
import type { SandboxService } from '../lifecycle/sandbox-service.js';
import type { Metrics } from '../metrics/registry.js';
import type { Store } from '../store/store.js';
import { toApiError } from './errors.js';
import { mountEventRoutes } from './events.js';
import { IdempotencyKeys } from './idempotency.js';
import { mountMetadataRoutes } from './metadata.js';
import { mountPauseResumeRoutes } from './pause-resume.js';
import type { ApiEnv } from './request.js';
import { mountSandboxRoutes } from './sandboxes.js';
import { buildSchemas } from './schemas.js';

export interface ApiDeps {
  config: Readonly<Config>;
  store: Store;
  service: SandboxService;
  metrics: Metrics;
  logger: Logger;
  clock: Clock;
  /** The public domain returned to SDKs (see Config.domain). */
  publicDomain: () => string;
}

/** The control-plane REST API. `/health` is public, `/metrics` the operator's; everything else needs an API key. */
export function createApi(deps: ApiDeps): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();
  const log = deps.logger.child({ component: 'api' });

  app.use(async (c, next) => {
    await next();
    deps.metrics.httpRequests.inc({ method: c.req.method, status: String(c.res.status) });
  });

  app.get('/health', (c) => c.json({ status: 'ok' }));
  // Server-wide counters: the operator's (a default-team key or SANDBOXD_METRICS_TOKEN), not a tenant's.
  app.get('/metrics', async (c) => {
    authorizeMetrics(deps.store, deps.config.metricsToken, {
      apiKey: c.req.header('x-api-key'),
      authorization: c.req.header('authorization'),
    });
    c.header('Content-Type', deps.metrics.registry.contentType);
    return c.body(await deps.metrics.registry.metrics());
  });

  app.use(
    bodyLimit({
      maxSize: deps.config.limits.maxJsonBodyBytes,
      // The unread rest of the body makes the connection unusable: tell the client not to reuse it.
      onError: (c) => {
        const tooLarge = new SandboxdError(
          'BODY_TOO_LARGE',
          `request body exceeds ${deps.config.limits.maxJsonBodyBytes} bytes`,
        );
        const { status, body, headers } = toApiError(tooLarge, log);
        return c.json(body, status as 400, { ...headers, Connection: 'close' });
      },
    }),
  );
  const limiter = new RateLimiter(deps.config.rateLimit.burstSeconds);
  app.use(async (c, next) => {
    const grant = authenticate(deps.store, c.req.header('x-api-key'));
    const rate = grant.rateLimitPerSecond ?? deps.config.rateLimit.requestsPerSecond;
    const decision = limiter.take(grant.keyId, rate, deps.clock.now());
    if (!decision.allowed) {
      deps.metrics.rateLimited.inc();
      throw new SandboxdError('RATE_LIMITED', `this API key may send ${rate} requests per second; slow down`, {
        retryAfterSeconds: decision.retryAfterSeconds,
      });
    }
    c.set('team', grant.team);
    await next();
  });

  const schemas = buildSchemas(deps.config);
  const wire = { domain: deps.publicDomain };
  const idempotency = new IdempotencyKeys({
    windowMs: 24 * 3600 * 1000,
    maxEntries: 10_000,
    now: () => deps.clock.now(),
  });
  mountSandboxRoutes(app, deps.service, schemas, deps.config, deps.metrics, wire, idempotency);
  mountPauseResumeRoutes(app, deps.service, schemas, deps.config, wire);
  mountMetadataRoutes(app, deps.service, schemas, wire);
  mountEventRoutes(app, deps.service);

  app.notFound((c) => {
    const { status, body, headers } = toApiError(
      new SandboxdError('ROUTE_NOT_FOUND', `no route for ${c.req.method} ${c.req.path}`),
      log,
    );
    return c.json(body, status as 404, headers);
  });
  app.onError((err, c) => {
    const { status, body, headers } = toApiError(err, log);
    return c.json(body, status as 400, headers);
  });
  return app;
}
