import type { Hono } from 'hono';
import type { SandboxService } from '../lifecycle/sandbox-service.js';
import { toSandboxDetailWire, type WireContext } from './dto.js';
import { type ApiEnv, jsonBody, sandboxIdParam } from './request.js';
import { parseInput, type Schemas } from './schemas.js';

/**
 * Metadata at runtime (our addition, for a `setMetadata` call; docs/api.md): PUT
 * replaces, PATCH merges and a null value removes a key. Both answer the sandbox as getInfo shows it.
 */
export function mountMetadataRoutes(
  app: Hono<ApiEnv>,
  service: SandboxService,
  schemas: Schemas,
  wire: WireContext,
): void {
  app.put('/sandboxes/:sandboxID/metadata', async (c) => {
    const id = sandboxIdParam(c);
    const body = parseInput(schemas.metadataReplaceBody, await jsonBody(c));
    const record = await service.updateMetadata(c.get('team'), id, () => body.metadata);
    return c.json(toSandboxDetailWire(record, wire));
  });

  app.patch('/sandboxes/:sandboxID/metadata', async (c) => {
    const id = sandboxIdParam(c);
    const body = parseInput(schemas.metadataPatchBody, await jsonBody(c));
    const record = await service.updateMetadata(c.get('team'), id, (current) => {
      // A Map, not object spreading: a key like `__proto__` stays an ordinary key.
      const merged = new Map(Object.entries(current));
      for (const [key, value] of Object.entries(body.metadata)) {
        if (value === null) merged.delete(key);
        else merged.set(key, value);
      }
      return parseInput(schemas.metadata, Object.fromEntries(merged));
    });
    return c.json(toSandboxDetailWire(record, wire));
  });
}
