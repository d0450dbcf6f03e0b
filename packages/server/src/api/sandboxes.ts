import { SandboxdError } from '@sandboxd/common';
import type { Context, Hono } from 'hono';
import type { Config } from '../config.js';
import type { SandboxService } from '../lifecycle/sandbox-service.js';
import type { Metrics } from '../metrics/registry.js';
import { toListedSandboxWire, toSandboxDetailWire, toSandboxWire, type WireContext } from './dto.js';
import type { IdempotencyKeys } from './idempotency.js';
import { encodeCursor, parseListQuery } from './list-query.js';
import { type ApiEnv, jsonBody, sandboxIdParam } from './request.js';
import { defaultCloseGraceMs, parseInput, type Schemas } from './schemas.js';

/** The sandbox resource: the v1 and v2 paths the E2B SDKs call. */
export function mountSandboxRoutes(
  app: Hono<ApiEnv>,
  service: SandboxService,
  schemas: Schemas,
  config: Readonly<Config>,
  metrics: Metrics,
  wire: WireContext,
  idempotency: IdempotencyKeys,
) {
  const maxListLimit = 100;

  const create = (mayOptOutOfSecure: boolean) => async (c: Context<ApiEnv>) => {
    const raw = await jsonBody(c);
    const body = parseInput(schemas.newSandbox, raw);
    const team = c.get('team');
    // A retry with the same Idempotency-Key gets the first attempt's answer, not a second sandbox.
    const request = { path: c.req.path, body: raw };
    const answer = await idempotency.run(team.id, c.req.header('idempotency-key'), request, async () => {
      const endTimer = metrics.sandboxCreateSeconds.startTimer();
      const record = await service.create(team, {
        templateId: body.templateID,
        timeoutSeconds: body.timeout ?? config.sandbox.defaultTimeoutSeconds,
        metadata: body.metadata ?? {},
        envVars: body.envVars ?? {},
        // Every sandbox's envd needs its access token unless a v1 client says `secure: false` itself
        // (the option older SDKs had); omitting the field is secure, as E2B's API is for both.
        secure: !(mayOptOutOfSecure && body.secure === false),
        allowInternetAccess: body.allow_internet_access ?? true,
        // SDK: lifecycle.onTimeout 'pause' → autoPause; { action: 'pause', keepMemory } → autoPauseMemory.
        autoPause: body.autoPause ?? false,
        autoPauseMemory: body.autoPauseMemory ?? true,
        autoResume: body.autoResume?.enabled ?? false,
      });
      endTimer();
      return { status: 201, body: toSandboxWire(record, wire) };
    });
    return c.json(answer.body, answer.status as 201);
  };
  app.post('/sandboxes', create(true));
  app.post('/v2/sandboxes', create(false));

  app.get('/v2/sandboxes', (c) => {
    const query = parseListQuery(c.get('team').id, c.req.query(), maxListLimit);
    const rows = service.list({ ...query, limit: query.limit + 1 });
    const page = rows.slice(0, query.limit);
    const last = page.at(-1);
    if (rows.length > query.limit && last) {
      c.header('X-Next-Token', encodeCursor({ startedAt: last.startedAt, id: last.id }));
    }
    return c.json(page.map(toListedSandboxWire));
  });

  // v1 list: running sandboxes only, as one array (older SDKs).
  app.get('/sandboxes', (c) => {
    const query = parseListQuery(
      c.get('team').id,
      { state: 'running', metadata: c.req.query('metadata') },
      Number.MAX_SAFE_INTEGER,
    );
    return c.json(service.list({ ...query, limit: 10_000 }).map(toListedSandboxWire));
  });

  app.get('/sandboxes/:sandboxID', (c) => {
    const record = service.get(c.get('team'), sandboxIdParam(c));
    return c.json(toSandboxDetailWire(record, wire));
  });

  app.delete('/sandboxes/:sandboxID', async (c) => {
    await service.kill(c.get('team'), sandboxIdParam(c));
    return c.body(null, 204);
  });

  // Ours (the SDK's close()): SIGTERM, a grace period, then the kill, recorded as a close.
  app.post('/sandboxes/:sandboxID/close', async (c) => {
    const id = sandboxIdParam(c);
    const body = parseInput(schemas.closeBody, await jsonBody(c));
    await service.closeSandbox(c.get('team'), id, body.graceMs ?? defaultCloseGraceMs);
    return c.body(null, 204);
  });

  app.post('/sandboxes/:sandboxID/timeout', async (c) => {
    const id = sandboxIdParam(c);
    const body = parseInput(schemas.setTimeoutBody, await jsonBody(c));
    await service.setTimeout(c.get('team'), id, body.timeout);
    return c.body(null, 204);
  });

  const notYet = (what: string) => (c: Context<ApiEnv>) => {
    service.get(c.get('team'), sandboxIdParam(c));
    throw new SandboxdError('NOT_IMPLEMENTED', `${what} is not supported by this server yet`);
  };
  // Routes E2B has and we do not yet: a clear 501 for an existing sandbox (a bare 404 would make
  // the SDK report SandboxNotFoundError for a sandbox that is alive).
  app.get('/sandboxes/:sandboxID/metrics', notYet('sandbox metrics'));
  app.post('/sandboxes/:sandboxID/snapshots', notYet('snapshots'));
  app.post('/sandboxes/:sandboxID/fork', notYet('fork'));
  app.put('/sandboxes/:sandboxID/network', notYet('network updates'));
}
