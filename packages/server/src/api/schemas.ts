import { isTemplateId, SandboxdError } from '@sandboxd/common';
import { z } from 'zod';
import type { Config } from '../config.js';

/**
 * Input schemas for the control-plane routes. Every route parses its input here into a typed
 * command before any other code runs; unknown fields are ignored (SDKs send fields we do not
 * act on yet, e.g. `mcp`, `volumeMounts`).
 */
/** The longest grace period a graceful close may ask for: it holds the sandbox's queue meanwhile. */
export const maxCloseGraceMs = 60_000;
/** What `POST /sandboxes/{id}/close` gives processes when the body names no grace period. */
export const defaultCloseGraceMs = 2_000;

export function buildSchemas(config: Readonly<Config>) {
  const { limits, sandbox } = config;

  // 0 is a valid timeout, as on E2B: the deadline is now, so the sandbox expires at once (killed,
  // or paused when its onTimeout is 'pause'), on create, connect and set-timeout alike.
  const timeoutSeconds = z
    .number({ error: 'timeout must be a number of seconds' })
    .int('timeout must be a whole number of seconds')
    .min(0, 'timeout must not be negative')
    .max(sandbox.maxTimeoutSeconds, `timeout must be at most ${sandbox.maxTimeoutSeconds} seconds`);

  const metadataKey = z
    .string()
    .min(1, 'metadata keys must not be empty')
    .max(limits.maxMetadataKeyLength, `metadata keys must be at most ${limits.maxMetadataKeyLength} characters`);
  const metadata = z
    .record(
      metadataKey,
      z
        .string()
        .max(
          limits.maxMetadataValueLength,
          `metadata values must be at most ${limits.maxMetadataValueLength} characters`,
        ),
      { error: 'metadata must be an object of string values' },
    )
    .refine((m) => Object.keys(m).length <= limits.maxMetadataEntries, {
      message: `metadata may have at most ${limits.maxMetadataEntries} entries`,
    });

  const envVars = z
    .record(
      z
        .string()
        .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'env var names must match [A-Za-z_][A-Za-z0-9_]*')
        .max(256),
      z
        .string({ error: 'env var values must be strings' })
        .refine((v) => !v.includes('\0'), 'env var values must not contain NUL'),
      { error: 'envVars must be an object of string values' },
    )
    .refine((e) => Object.keys(e).length <= limits.maxEnvVars, { message: `at most ${limits.maxEnvVars} env vars` })
    .refine((e) => Buffer.byteLength(JSON.stringify(e)) <= limits.maxEnvValueBytes, {
      message: `envVars must total at most ${limits.maxEnvValueBytes} bytes`,
    });

  const templateId = z
    .string({ error: 'templateID is required' })
    .refine(isTemplateId, 'templateID must be 1-63 characters of a-z, 0-9, ".", "_" or "-"');

  const newSandbox = z
    .object({
      templateID: templateId,
      timeout: timeoutSeconds.optional(),
      metadata: metadata.optional(),
      envVars: envVars.optional(),
      secure: z.boolean().optional(),
      allow_internet_access: z.boolean().optional(),
      autoPause: z.boolean({ error: 'autoPause must be a boolean' }).optional(),
      autoPauseMemory: z.boolean({ error: 'autoPauseMemory must be a boolean' }).optional(),
      autoResume: z.object({ enabled: z.boolean({ error: 'autoResume.enabled must be a boolean' }) }).optional(),
    })
    .refine((b) => !(b.autoResume?.enabled && b.autoPauseMemory === false), {
      message:
        'autoResume cannot be combined with autoPauseMemory: false (a disk-only pause must be resumed explicitly)',
    });

  const setTimeoutBody = z.object({ timeout: timeoutSeconds });
  const connectBody = z.object({
    timeout: timeoutSeconds.optional(),
    memory: z.boolean({ error: 'memory must be a boolean' }).optional(),
  });
  const pauseBody = z.object({ memory: z.boolean({ error: 'memory must be a boolean' }).optional() });
  const closeBody = z.object({
    graceMs: z
      .number({ error: 'graceMs must be a number of milliseconds' })
      .int('graceMs must be a whole number of milliseconds')
      .min(0, 'graceMs must not be negative')
      .max(maxCloseGraceMs, `graceMs must be at most ${maxCloseGraceMs}`)
      .optional(),
  });
  const resumeBody = z.object({ timeout: timeoutSeconds.optional(), autoPause: z.boolean().optional() });

  // Metadata updates (our addition for `setMetadata`): PUT replaces, PATCH merges and a null
  // value removes a key. The merged result is checked against the same limits as at create.
  const metadataReplaceBody = z.object({ metadata });
  const metadataPatchBody = z.object({
    metadata: z.record(metadataKey, z.string().max(limits.maxMetadataValueLength).nullable(), {
      error: 'metadata must be an object of string (or null) values',
    }),
  });

  return {
    newSandbox,
    setTimeoutBody,
    connectBody,
    pauseBody,
    resumeBody,
    closeBody,
    metadata,
    metadataReplaceBody,
    metadataPatchBody,
  };
}

export type Schemas = ReturnType<typeof buildSchemas>;

export function parseInput<T>(schema: z.ZodType<T>, input: unknown): T {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const where = issue && issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
  throw new SandboxdError('INVALID_REQUEST', `${where}${issue?.message ?? 'invalid request'}`);
}
