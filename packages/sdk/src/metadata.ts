import type { ConnectionConfig } from 'e2b';
import { apiError, MetadataValidationError } from './errors.js';
import { callSandboxRoute } from './sandbox-route.js';

/** A metadata update: string values set a key; `null` (merge only) removes it. */
export type MetadataUpdate = Record<string, string | null>;

/** Checks the shape on the client so a wrong type fails before a request, with the same error. */
export function checkMetadata(metadata: unknown, allowNull: boolean): asserts metadata is MetadataUpdate {
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) {
    throw new MetadataValidationError('metadata must be an object of string values');
  }
  for (const [key, value] of Object.entries(metadata)) {
    if (typeof value === 'string' || (allowNull && value === null)) continue;
    throw new MetadataValidationError(
      `metadata value of ${JSON.stringify(key)} must be a string${allowNull ? ' or null' : ''}`,
    );
  }
}

/**
 * `PATCH` (merge; null removes) or `PUT` (replace) `/sandboxes/{id}/metadata`; answers the
 * metadata as the server now holds it.
 */
export async function writeMetadata(
  config: ConnectionConfig,
  sandboxId: string,
  metadata: MetadataUpdate,
  mode: 'merge' | 'replace',
): Promise<Record<string, string>> {
  checkMetadata(metadata, mode === 'merge');
  const res = await callSandboxRoute<{ metadata?: Record<string, string> }>(
    config,
    mode === 'merge' ? 'PATCH' : 'PUT',
    '/sandboxes/{sandboxID}/metadata',
    sandboxId,
    { body: { metadata }, signal: config.getSignal() },
  );
  if (res.response.ok) return res.data?.metadata ?? {};
  if (res.response.status === 400) {
    throw new MetadataValidationError(res.error?.message ?? 'metadata refused by the server');
  }
  throw apiError(res.response.status, res.error, sandboxId);
}
