/**
 * Watchers that the client polls (CreateWatcher → GetWatcherEvents → RemoveWatcher), used by
 * E2B's Python sync client, which cannot hold a stream open. Events are kept until the next poll,
 * at most POLLED_EVENTS_KEPT of them: a client that stops polling must not grow envd's memory.
 * With `includeEntry`, each event's entry is taken when the event arrives (as E2B's envd does),
 * so a file removed before the poll is still described; a poll waits for entries still being read.
 */
import { randomUUID } from 'node:crypto';
import type { MessageInitShape } from '@bufbuild/protobuf';
import { SandboxdError } from '@sandboxd/common';
import type { FilesystemEventSchema } from '@sandboxd/protocol';
import type { DirWatcher, WatchEvent } from './dir-watcher.js';
import { type EntryContext, entryInfo } from './entry-info.js';

const POLLED_EVENTS_KEPT = 10_000;

type FilesystemEventInit = MessageInitShape<typeof FilesystemEventSchema>;

interface PollingWatcher {
  watcher: DirWatcher;
  events: FilesystemEventInit[];
  /** Settles once every event seen so far is in `events` (entries are read asynchronously). */
  settled: Promise<void>;
}

export class PollingWatchers {
  private readonly watchers = new Map<string, PollingWatcher>();

  constructor(private readonly entryContext: () => Promise<EntryContext>) {}

  /** Opens a watcher through `open` (given the event sink) and returns its id. */
  async create(
    includeEntry: boolean,
    open: (onEvent: (event: WatchEvent) => void) => Promise<DirWatcher>,
  ): Promise<string> {
    const polling: Partial<PollingWatcher> & { events: FilesystemEventInit[]; settled: Promise<void> } = {
      events: [],
      settled: Promise.resolve(),
    };
    const keep = (event: FilesystemEventInit) => {
      if (polling.events.push(event) > POLLED_EVENTS_KEPT) polling.events.shift();
    };
    polling.watcher = await open((event) => {
      const base = { name: event.name, type: event.type };
      if (!includeEntry) return keep(base);
      polling.settled = polling.settled.then(async () => {
        const entry = await entryInfo(event.absolutePath, await this.entryContext()).catch(() => undefined);
        keep(entry ? { ...base, entry } : base);
      });
    });
    const id = randomUUID();
    this.watchers.set(id, polling as PollingWatcher);
    return id;
  }

  async takeEvents(id: string): Promise<FilesystemEventInit[]> {
    const polling = this.find(id);
    await polling.settled;
    return polling.events.splice(0);
  }

  /** Removing an unknown (or already removed) watcher does nothing. */
  remove(id: string): void {
    this.watchers.get(id)?.watcher.close();
    this.watchers.delete(id);
  }

  private find(id: string): PollingWatcher {
    const polling = this.watchers.get(id);
    if (!polling) throw new SandboxdError('FILE_NOT_FOUND', `watcher with id '${id}' not found`);
    return polling;
  }
}
