import { isSandboxId, SandboxdError } from '@sandboxd/common';
import type { Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { SandboxService } from '../lifecycle/sandbox-service.js';
import type { StoredEvent } from '../store/store.js';
import { EventInbox } from './event-inbox.js';
import { type ApiEnv, sandboxIdParam } from './request.js';

const replayBatch = 500;
const keepAliveMs = 15_000;
const inboxCapacity = 10_000;

/** Domain → wire for one lifecycle event (E2B spelling: `sandboxID`). */
function toEventWire(e: StoredEvent) {
  return {
    seq: e.seq,
    sandboxID: e.sandboxId,
    type: e.type,
    cause: e.cause,
    timestamp: new Date(e.time).toISOString(),
    ...(e.detail === undefined ? {} : { detail: e.detail }),
  };
}

function parseSeq(raw: string | undefined, what: string): number | undefined {
  if (raw === undefined || raw === '') return undefined;
  const seq = Number(raw);
  if (!Number.isSafeInteger(seq) || seq < 0) {
    throw new SandboxdError('INVALID_REQUEST', `${what} must be a whole number ≥ 0 (an event seq)`);
  }
  return seq;
}

function parseSandboxFilter(raw: string | undefined): string | undefined {
  if (raw === undefined || raw === '') return undefined;
  if (!isSandboxId(raw)) throw new SandboxdError('INVALID_REQUEST', 'sandboxID is not a sandbox id');
  return raw;
}

/**
 * Lifecycle events of the caller's team (issue #3): every recorded transition, with its time
 * and cause (user, timeout, error, system).
 *
 * - `GET /events` is a Server-Sent Events stream: `id` is the event's seq, `event` its type,
 *   `data` the JSON event. `?sandboxID=` narrows it to one sandbox. A `Last-Event-ID` header (or
 *   `?since=<seq>`) first replays what was recorded after that seq, so a reconnecting client
 *   misses nothing; without one the stream starts with what happens next. A `ready` event marks
 *   the end of the replay; comment lines keep idle connections alive.
 * - `GET /sandboxes/{id}/events` is one sandbox's history as a JSON array, oldest first.
 */
export function mountEventRoutes(app: Hono<ApiEnv>, service: SandboxService): void {
  app.get('/events', (c) => {
    const team = c.get('team');
    const sandboxId = parseSandboxFilter(c.req.query('sandboxID') ?? c.req.query('sandboxId'));
    const since = parseSeq(c.req.header('last-event-id') ?? c.req.query('since'), 'Last-Event-ID / since');

    // Subscribe before replaying, so nothing recorded in between falls through the gap; whatever
    // arrives twice is dropped by seq. Before the stream starts, so a closed log answers 503.
    const inbox = new EventInbox<StoredEvent>(inboxCapacity);
    const unsubscribe = service.events.subscribe(
      team,
      (e) => {
        if (sandboxId === undefined || e.sandboxId === sandboxId) inbox.push(e);
      },
      () => inbox.close(),
    );
    return streamSSE(c, async (stream) => {
      stream.onAbort(() => inbox.close());
      const send = (e: StoredEvent) =>
        stream.writeSSE({ id: String(e.seq), event: e.type, data: JSON.stringify(toEventWire(e)) });
      try {
        // Without a start point the stream begins after the latest recorded event; `ready` tells
        // its seq, so a client that drops before any event can still resume without a gap.
        let lastSeq = since ?? service.events.list(team, { sandboxId, limit: 1 }).at(-1)?.seq ?? 0;
        if (since !== undefined) {
          for (;;) {
            const batch = service.events.list(team, { sandboxId, afterSeq: lastSeq, limit: replayBatch });
            for (const e of batch) {
              await send(e);
              lastSeq = e.seq;
            }
            if (batch.length < replayBatch) break;
          }
        }
        await stream.writeSSE({ event: 'ready', data: JSON.stringify({ lastSeq }) });
        for (;;) {
          const next = await inbox.next(keepAliveMs);
          if (next === null || stream.aborted) break;
          if (next === undefined) await stream.write(': keep-alive\n\n');
          else if (next.seq > lastSeq) {
            await send(next);
            lastSeq = next.seq;
          }
        }
      } finally {
        unsubscribe();
      }
    });
  });

  app.get('/sandboxes/:sandboxID/events', (c) => {
    const team = c.get('team');
    const sandboxId = sandboxIdParam(c);
    const afterSeq = parseSeq(c.req.query('since'), 'since');
    const limitText = c.req.query('limit');
    const limit = limitText === undefined ? 100 : Number(limitText);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
      throw new SandboxdError('INVALID_REQUEST', 'limit must be a whole number from 1 to 1000');
    }
    const events = service.events.history(team, sandboxId, { afterSeq, limit });
    return c.json(events.map(toEventWire));
  });
}
