import { SandboxdError } from '@sandboxd/common';
import type { ListSandboxesQuery, SandboxState } from '../store/store.js';

/**
 * `GET /v2/sandboxes` query decoding. The e2b SDK encodes `metadata` three times:
 * encodeURIComponent per key and value, URLSearchParams joining (which escapes `%` again), then
 * the query serializer once more. The URL parser undoes the last step; we undo the other two.
 */
export function decodeMetadataFilter(raw: string | undefined): Record<string, string> {
  if (raw === undefined || raw === '') return {};
  const filter: Record<string, string> = {};
  for (const [encodedKey, encodedValue] of new URLSearchParams(raw)) {
    try {
      filter[decodeURIComponent(encodedKey)] = decodeURIComponent(encodedValue);
    } catch {
      throw new SandboxdError('INVALID_REQUEST', 'metadata filter is not validly percent-encoded');
    }
  }
  return filter;
}

interface Cursor {
  startedAt: number;
  id: string;
}

export function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify([cursor.startedAt, cursor.id])).toString('base64url');
}

export function decodeCursor(token: string): Cursor {
  try {
    const value = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(value) && typeof value[0] === 'number' && typeof value[1] === 'string') {
      return { startedAt: value[0], id: value[1] };
    }
  } catch {}
  throw new SandboxdError('INVALID_REQUEST', 'nextToken is not a token this server issued');
}

const listStates: Record<string, SandboxState[]> = {
  running: ['running', 'creating', 'pausing', 'resuming'],
  paused: ['paused'],
};

export interface ListParams {
  state?: string | undefined;
  metadata?: string | undefined;
  startedAfter?: string | undefined;
  template?: string | undefined;
  order?: string | undefined;
  limit?: string | undefined;
  nextToken?: string | undefined;
}

export function parseListQuery(teamId: string, p: ListParams, maxLimit: number): ListSandboxesQuery {
  const stateNames = p.state
    ? p.state
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : ['running', 'paused'];
  const states: SandboxState[] = [];
  for (const name of stateNames) {
    const mapped = listStates[name];
    if (!mapped) throw new SandboxdError('INVALID_REQUEST', `state must be 'running' or 'paused', got '${name}'`);
    states.push(...mapped);
  }
  let limit = maxLimit;
  if (p.limit !== undefined) {
    limit = Number(p.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > maxLimit) {
      throw new SandboxdError('INVALID_REQUEST', `limit must be a whole number from 1 to ${maxLimit}`);
    }
  }
  const order = p.order ?? 'desc';
  if (order !== 'asc' && order !== 'desc') throw new SandboxdError('INVALID_REQUEST', "order must be 'asc' or 'desc'");
  let startedAfter: number | undefined;
  if (p.startedAfter !== undefined) {
    startedAfter = Date.parse(p.startedAfter);
    if (Number.isNaN(startedAfter)) throw new SandboxdError('INVALID_REQUEST', 'startedAfter must be an ISO-8601 time');
  }
  return {
    teamId,
    states,
    metadata: decodeMetadataFilter(p.metadata),
    ...(p.template ? { templateId: p.template } : {}),
    ...(startedAfter === undefined ? {} : { startedAfter }),
    order,
    limit,
    ...(p.nextToken ? { after: decodeCursor(p.nextToken) } : {}),
  };
}
