/**
 * Watches a directory, optionally recursively, through raw inotify read by envd-helper's `watch`
 * verb (runtime/native/envd-helper.c): Node's fs.watch folds every event into "rename"/"change",
 * which loses RENAME and CHMOD. One watch per directory; a subdirectory created (or moved in)
 * later is watched as soon as its event is seen, so a write inside it is reported as
 * `sub/file`, as E2B's envd names it. Ops map as fsnotify (and so E2B's envd) maps them: IN_CREATE and
 * IN_MOVED_TO → CREATE, IN_MODIFY → WRITE, IN_DELETE → REMOVE, IN_MOVED_FROM → RENAME,
 * IN_ATTRIB → CHMOD; one event per op bit.
 * Lifecycle: start() resolves once the root (and, when recursive, its subtree) is watched;
 * close() ends the helper, which also exits by itself when envd goes away (stdin EOF).
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { EventType } from '@sandboxd/protocol';

export interface WatchEvent {
  /** Path relative to the watched directory. */
  name: string;
  type: EventType;
  absolutePath: string;
}

// <sys/inotify.h>
const IN_MODIFY = 0x2;
const IN_ATTRIB = 0x4;
const IN_MOVED_FROM = 0x40;
const IN_MOVED_TO = 0x80;
const IN_CREATE = 0x100;
const IN_DELETE = 0x200;
const IN_IGNORED = 0x8000;
const IN_ISDIR = 0x40000000;

const opsInOrder: Array<[number, EventType]> = [
  [IN_CREATE, EventType.CREATE],
  [IN_MOVED_TO, EventType.CREATE],
  [IN_MODIFY, EventType.WRITE],
  [IN_ATTRIB, EventType.CHMOD],
  [IN_MOVED_FROM, EventType.RENAME],
  [IN_DELETE, EventType.REMOVE],
];

const errnoNames = new Map(Object.entries(os.constants.errno).map(([name, value]) => [value, name]));

export class DirWatcher {
  private readonly dirs = new Map<number, string>();
  private readonly answers: Array<(wd: number) => void> = [];
  private helper: ChildProcessWithoutNullStreams | undefined;
  private closed = false;

  constructor(
    private readonly helperPath: string,
    private readonly root: string,
    private readonly recursive: boolean,
    private readonly onEvent: (event: WatchEvent) => void,
  ) {}

  async start(): Promise<void> {
    const helper = spawn(this.helperPath, ['watch'], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.helper = helper;
    helper.stdin.on('error', () => {});
    helper.stderr.resume();
    helper.once('error', () => this.failPending());
    helper.once('exit', () => this.failPending());
    this.readRecords(helper);
    const wd = await this.add(this.root);
    if (wd < 0) {
      const code = errnoNames.get(-wd) ?? 'EIO';
      throw Object.assign(new Error(`cannot watch '${this.root}': ${code}`), { code });
    }
    if (this.recursive) await this.watchChildren(this.root);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.helper?.stdin.end();
    this.helper?.kill();
    this.failPending();
  }

  private add(dir: string): Promise<number> {
    const helper = this.helper;
    if (this.closed || !helper || helper.exitCode !== null) return Promise.resolve(-(os.constants.errno.EIO ?? 5));
    return new Promise((resolve) => {
      this.answers.push((wd) => {
        if (wd >= 0) this.dirs.set(wd, dir);
        resolve(wd);
      });
      helper.stdin.write(`a${dir}\0`);
    });
  }

  private async watchTree(dir: string): Promise<void> {
    if ((await this.add(dir)) >= 0) await this.watchChildren(dir);
  }

  private async watchChildren(dir: string): Promise<void> {
    const children = await fs.readdir(dir, { withFileTypes: true }).catch(() => []);
    await Promise.all(children.filter((c) => c.isDirectory()).map((c) => this.watchTree(path.join(dir, c.name))));
  }

  /** Stops watching `dir` and everything under it (removed or moved away). */
  private unwatch(dir: string): void {
    for (const [wd, watched] of this.dirs) {
      if (watched === dir || watched.startsWith(`${dir}/`)) {
        this.dirs.delete(wd);
        this.helper?.stdin.write(`r${wd}\0`);
      }
    }
  }

  private readRecords(helper: ChildProcessWithoutNullStreams): void {
    const decoder = new StringDecoder('utf8');
    let partial = '';
    let fields: string[] = [];
    helper.stdout.on('data', (chunk: Buffer) => {
      const pieces = (partial + decoder.write(chunk)).split('\0');
      partial = pieces.pop() ?? '';
      for (const piece of pieces) {
        fields.push(piece);
        if (fields.length < 5) continue;
        this.handleRecord(fields);
        fields = [];
      }
    });
  }

  private handleRecord([kind, a, b, , name]: string[]): void {
    if (kind === 'add') {
      this.answers.shift()?.(Number(a));
      return;
    }
    const wd = Number(a);
    const mask = Number(b);
    if (mask & IN_IGNORED) {
      this.dirs.delete(wd);
      return;
    }
    const dir = this.dirs.get(wd);
    // Events about a watched directory itself are reported by its parent's watch.
    if (dir === undefined || !name) return;
    const absolutePath = path.join(dir, name);
    const isDir = (mask & IN_ISDIR) !== 0;
    for (const [bit, type] of opsInOrder) {
      if (mask & bit) this.emit({ name: path.relative(this.root, absolutePath), type, absolutePath });
    }
    if (!isDir || !this.recursive) return;
    if (mask & (IN_DELETE | IN_MOVED_FROM)) this.unwatch(absolutePath);
    if (mask & (IN_CREATE | IN_MOVED_TO)) void this.watchTree(absolutePath);
  }

  private failPending(): void {
    for (const answer of this.answers.splice(0)) answer(-(os.constants.errno.EIO ?? 5));
  }

  private emit(event: WatchEvent): void {
    if (!this.closed) this.onEvent(event);
  }
}
