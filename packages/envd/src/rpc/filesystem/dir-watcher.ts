/**
 * Watches a directory, optionally recursively, by keeping one inotify watch (fs.watch) per
 * directory: a newly created subdirectory is watched as soon as its CREATE is seen, so a later
 * write inside it is reported as `sub/file` (§3.5). inotify only says "rename" or "change";
 * the op is recovered by looking at the path: present → CREATE, gone → REMOVE, change → WRITE.
 */
import { type FSWatcher, watch } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { EventType } from '@sandboxd/protocol';

export interface WatchEvent {
  /** Path relative to the watched directory. */
  name: string;
  type: EventType;
  absolutePath: string;
}

export class DirWatcher {
  private readonly watchers = new Map<string, FSWatcher>();
  private closed = false;

  constructor(
    private readonly root: string,
    private readonly recursive: boolean,
    private readonly onEvent: (event: WatchEvent) => void,
  ) {}

  /** Resolves once the root (and, when recursive, its existing subtree) is being watched. */
  async start(): Promise<void> {
    await this.watchTree(this.root);
  }

  close(): void {
    this.closed = true;
    for (const watcher of this.watchers.values()) watcher.close();
    this.watchers.clear();
  }

  private async watchTree(dir: string): Promise<void> {
    if (this.closed || this.watchers.has(dir)) return;
    let watcher: FSWatcher;
    try {
      watcher = watch(dir, { persistent: false }, (kind, file) => {
        if (file !== null) void this.handle(dir, kind, file.toString());
      });
    } catch (err) {
      if (dir === this.root) throw err;
      return; // a subdirectory vanished before we got to it
    }
    watcher.on('error', () => this.unwatch(dir));
    this.watchers.set(dir, watcher);
    if (!this.recursive) return;
    const children = await fs.readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const child of children) {
      if (child.isDirectory()) await this.watchTree(path.join(dir, child.name));
    }
  }

  private unwatch(dir: string): void {
    for (const [watched, watcher] of this.watchers) {
      if (watched === dir || watched.startsWith(`${dir}/`)) {
        watcher.close();
        this.watchers.delete(watched);
      }
    }
  }

  private async handle(dir: string, kind: string, file: string): Promise<void> {
    const absolutePath = path.join(dir, file);
    const name = path.relative(this.root, absolutePath);
    if (kind === 'change') {
      this.emit({ name, type: EventType.WRITE, absolutePath });
      return;
    }
    const stat = await fs.lstat(absolutePath).catch(() => undefined);
    if (!stat) {
      this.unwatch(absolutePath);
      this.emit({ name, type: EventType.REMOVE, absolutePath });
      return;
    }
    this.emit({ name, type: EventType.CREATE, absolutePath });
    if (this.recursive && stat.isDirectory()) await this.watchTree(absolutePath);
  }

  private emit(event: WatchEvent): void {
    if (!this.closed) this.onEvent(event);
  }
}
