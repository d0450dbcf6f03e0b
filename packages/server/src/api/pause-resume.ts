import type { Context, Hono } from 'hono';
import type { Config } from '../config.js';
import type { SandboxService } from '../lifecycle/sandbox-service.js';
import { toSandboxWire, type WireContext } from './dto.js';
import { type ApiEnv, jsonBody, sandboxIdParam } from './request.js';
import { parseInput, type Schemas } from './schemas.js';

/**
 * Pause, resume and connect, as the E2B SDKs call them:
 * - `POST /sandboxes/{id}/pause` `{memory?}` → 204 once the pause is durable; already paused → 409
 *   (the SDK's `pause()` then returns false).
 * - `POST /[v2/]sandboxes/{id}/connect` `{timeout?, memory?}` → 200 for a running sandbox (its
 *   deadline only extended), 201 after resuming a paused one; `memory: false` boots it afresh.
 * - `POST /sandboxes/{id}/resume` `{timeout?}` (deprecated in E2B, kept for older SDKs) → 201.
 */
export function mountPauseResumeRoutes(
  app: Hono<ApiEnv>,
  service: SandboxService,
  schemas: Schemas,
  config: Readonly<Config>,
  wire: WireContext,
): void {
  app.post('/sandboxes/:sandboxID/pause', async (c) => {
    const id = sandboxIdParam(c);
    const body = parseInput(schemas.pauseBody, await jsonBody(c));
    await service.pause(c.get('team'), id, { memory: body.memory ?? true });
    return c.body(null, 204);
  });

  const connect = async (c: Context<ApiEnv>) => {
    const id = sandboxIdParam(c);
    const body = parseInput(schemas.connectBody, await jsonBody(c));
    const { record, resumed } = await service.connect(
      c.get('team'),
      id,
      body.timeout ?? config.sandbox.defaultTimeoutSeconds,
      body.memory === undefined ? {} : { memory: body.memory },
    );
    return c.json(toSandboxWire(record, wire), resumed ? 201 : 200);
  };
  app.post('/sandboxes/:sandboxID/connect', connect);
  app.post('/v2/sandboxes/:sandboxID/connect', connect);

  app.post('/sandboxes/:sandboxID/resume', async (c) => {
    const id = sandboxIdParam(c);
    const body = parseInput(schemas.resumeBody, await jsonBody(c));
    const record = await service.resume(c.get('team'), id, body.timeout ?? config.sandbox.defaultTimeoutSeconds);
    return c.json(toSandboxWire(record, wire), 201);
  });
}
