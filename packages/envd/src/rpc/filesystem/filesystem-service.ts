/**
 * `filesystem.Filesystem`. Every path is resolved for the requesting user (Basic auth)
 * once, at the top of each handler; errors are SandboxdErrors mapped by the RPC interceptor.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { HandlerContext, ServiceImpl } from '@connectrpc/connect';
import { SandboxdError } from '@sandboxd/common';
import type { Filesystem } from '@sandboxd/protocol';
import type { EnvdConfig } from '../../config.js';
import { errnoToError } from '../../system/errno.js';
import type { FileMetadataStore } from '../../system/file-metadata.js';
import { makeDirsOwnedBy } from '../../system/make-parents.js';
import { refuseMountPoints } from '../../system/mounts.js';
import { resolveUserPath } from '../../system/paths.js';
import { loadIdNames, type SandboxUser } from '../../system/users.js';
import { throwIfDeadlinePassed } from '../deadline.js';
import { EventQueue, KEEPALIVE, keepaliveIntervalMs } from '../event-queue.js';
import { userFromAuthorization } from '../request-user.js';
import { DirWatcher, type WatchEvent } from './dir-watcher.js';
import { type EntryContext, entryInfo } from './entry-info.js';
import { listDir } from './list-dir.js';
import { isOnNetworkMount } from './network-mounts.js';
import { PollingWatchers } from './polling-watchers.js';

export function filesystemService(
  config: EnvdConfig,
  metadata: FileMetadataStore,
): Partial<ServiceImpl<typeof Filesystem>> {
  const entryContext = async (): Promise<EntryContext> => ({ names: await loadIdNames(), metadata });
  const pollingWatchers = new PollingWatchers(entryContext);

  const resolve = async (ctx: HandlerContext, raw: string): Promise<{ user: SandboxUser; target: string }> => {
    const user = await userFromAuthorization(ctx.requestHeader.get('authorization'), config.defaultUser);
    return { user, target: resolveUserPath(raw, user, config.defaultWorkdir) };
  };

  const openWatcher = async (
    req: { path: string; recursive: boolean; allowNetworkMounts: boolean },
    ctx: HandlerContext,
    onEvent: (event: WatchEvent) => void,
  ): Promise<DirWatcher> => {
    const { target } = await resolve(ctx, req.path);
    const stat = await fs.stat(target).catch((err) => {
      throw errnoToError(err, target);
    });
    if (!stat.isDirectory()) throw new SandboxdError('INVALID_REQUEST', `path '${target}' is not a directory`);
    if (!req.allowNetworkMounts && (await isOnNetworkMount(target))) {
      throw new SandboxdError('INVALID_REQUEST', `path '${target}' is on a network mount`);
    }
    const watcher = new DirWatcher(config.envdHelper, target, req.recursive, onEvent);
    await watcher.start().catch((err: NodeJS.ErrnoException) => {
      watcher.close();
      // inotify's ENOSPC is its watch limit, not the disk.
      if (err.code === 'ENOSPC') {
        throw new SandboxdError('CAPACITY_EXHAUSTED', `too many directories to watch under '${target}'`, {
          cause: err,
        });
      }
      throw errnoToError(err, target);
    });
    return watcher;
  };

  return {
    async stat(req, ctx) {
      const { target } = await resolve(ctx, req.path);
      return { entry: await entryInfo(target, await entryContext()) };
    },

    async makeDir(req, ctx) {
      const { user, target } = await resolve(ctx, req.path);
      const existing = await fs.stat(target).catch(() => undefined);
      if (existing?.isDirectory()) throw new SandboxdError('PATH_EXISTS', `directory '${target}' already exists`);
      if (existing) throw new SandboxdError('INVALID_REQUEST', `path '${target}' exists and is not a directory`);
      await makeDirsOwnedBy(target, user);
      return { entry: await entryInfo(target, await entryContext()) };
    },

    async move(req, ctx) {
      const { user, target: source } = await resolve(ctx, req.source);
      const destination = resolveUserPath(req.destination, user, config.defaultWorkdir);
      await fs.lstat(source).catch((err) => {
        throw errnoToError(err, source);
      });
      await refuseMountPoints(source, 'move');
      await makeDirsOwnedBy(path.dirname(destination), user);
      await fs.rename(source, destination).catch(async (err: NodeJS.ErrnoException) => {
        if (err.code !== 'EXDEV') throw errnoToError(err, destination);
        // Across filesystems (e.g. into a mounted volume): copy, then remove the source.
        await fs
          .cp(source, destination, { recursive: true, preserveTimestamps: true, verbatimSymlinks: true })
          .catch((e) => {
            throw errnoToError(e, destination);
          });
        await fs.rm(source, { recursive: true, force: true }).catch((e) => {
          throw errnoToError(e, source);
        });
      });
      return { entry: await entryInfo(destination, await entryContext()) };
    },

    async listDir(req, ctx) {
      const { target } = await resolve(ctx, req.path);
      // The listed path itself may be a symlink to a directory: follow it here, not in the walk.
      const stat = await fs.stat(target).catch((err) => {
        throw errnoToError(err, target);
      });
      if (!stat.isDirectory()) throw new SandboxdError('INVALID_REQUEST', `path '${target}' is not a directory`);
      return { entries: await listDir(target, req.depth, await entryContext()) };
    },

    async remove(req, ctx) {
      const { target } = await resolve(ctx, req.path);
      await refuseMountPoints(target, 'remove');
      // Recursive, and a missing path is success (the SDK's "remove non-existing file" test).
      await fs.rm(target, { recursive: true, force: true }).catch((err) => {
        throw errnoToError(err, target);
      });
      return {};
    },

    async *watchDir(req, ctx) {
      const queue = new EventQueue<WatchEvent>();
      const watcher = await openWatcher(req, ctx, (event) => queue.push(event));
      try {
        yield { event: { case: 'start', value: {} } };
        const keepaliveMs = keepaliveIntervalMs(ctx.requestHeader.get('keepalive-ping-interval'));
        for await (const item of queue.drain(ctx.signal, keepaliveMs)) {
          if (item === KEEPALIVE) {
            yield { event: { case: 'keepalive', value: {} } };
            continue;
          }
          const entry = req.includeEntry
            ? await entryInfo(item.absolutePath, await entryContext()).catch(() => undefined)
            : undefined;
          yield {
            event: { case: 'filesystem', value: { name: item.name, type: item.type, ...(entry ? { entry } : {}) } },
          };
        }
        throwIfDeadlinePassed(ctx.signal);
      } finally {
        watcher.close();
      }
    },

    async createWatcher(req, ctx) {
      return { watcherId: await pollingWatchers.create(req.includeEntry, (onEvent) => openWatcher(req, ctx, onEvent)) };
    },

    async getWatcherEvents(req) {
      return { events: await pollingWatchers.takeEvents(req.watcherId) };
    },

    removeWatcher(req) {
      pollingWatchers.remove(req.watcherId);
      return {};
    },
  };
}
