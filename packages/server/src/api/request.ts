import { isSandboxId, SandboxdError } from '@sandboxd/common';
import type { Context } from 'hono';
import type { Team } from '../store/store.js';

/** What the auth middleware puts on every authenticated request. */
export type ApiEnv = { Variables: { team: Team } };

/** Parses the JSON body; a malformed body is a 400, an absent one an empty object. */
export async function jsonBody(c: Context<ApiEnv>): Promise<unknown> {
  const text = await c.req.text();
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new SandboxdError('INVALID_JSON');
  }
}

export function sandboxIdParam(c: Context<ApiEnv>): string {
  const id = c.req.param('sandboxID') ?? '';
  // An id we could never have issued cannot exist: answer as E2B does for unknown ids.
  if (!isSandboxId(id)) throw new SandboxdError('SANDBOX_NOT_FOUND', `sandbox ${id} not found`);
  return id;
}
