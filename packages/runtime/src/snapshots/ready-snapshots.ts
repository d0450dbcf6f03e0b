import fs from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '@sandboxd/common';
import type { HelperPaths } from '../host/ensure-helpers.js';
import { currentTemplateBuild } from '../images/template-builds.js';
import { removeTree } from '../process/mounts.js';
import { runCommand } from '../process/run-command.js';
import type { ResolvedOptions } from '../runc/runtime-options.js';
import type { SandboxLimits } from '../runtime.js';
import { type SnapshotKeyParts, snapshotKey } from './snapshot-key.js';
import {
  readSnapshotRecord,
  type SnapshotPaths,
  type SnapshotRecord,
  snapshotPaths,
  snapshotsDir,
} from './snapshot-record.js';
import { type TakeSnapshotInput, takeSnapshot } from './take-snapshot.js';

export interface ReadySnapshot {
  paths: SnapshotPaths;
  record: SnapshotRecord;
  /** Call once the restore no longer reads the snapshot's files. */
  release: () => void;
}

export interface ReadySnapshotsDeps {
  options: Pick<ResolvedOptions, 'stateDir' | 'templatesDir' | 'criuBinary' | 'logger'>;
  /** Today's bind sources (content-named), for the key. */
  bindSources: () => Promise<{ helpers: HelperPaths; envdBundle: string; node: string }>;
  take: Omit<TakeSnapshotInput, 'templateId' | 'templateBuild' | 'limits' | 'key' | 'templateDir' | 'inFlight'>;
}

/**
 * The ready snapshots of this runtime, `<stateDir>/snapshots/<templateId>/<key>/` (root-only, on
 * the same filesystem as the sandboxes so a restore can hard-link the images). At most one is
 * made at a time per template; one still being read by a restore is never deleted; a snapshot
 * whose key is no longer today's is deleted when a new one is made. A snapshot that failed to
 * restore is deleted and not made again by this process (creates go cold).
 */
export class ReadySnapshots {
  readonly #d: {
    stateDir: string;
    criuBinary: string;
    log: Logger;
    keyParts: (templateId: string) => Promise<Omit<SnapshotKeyParts, 'criuVersion' | 'limits'> | undefined>;
    take: ReadySnapshotsDeps['take'];
  };
  readonly #making = new Map<string, Promise<SnapshotRecord>>();
  readonly #inUse = new Map<string, number>();
  readonly #broken = new Set<string>();
  /** Ids of the sandboxes being made into snapshots right now. */
  readonly sandboxes = new Set<string>();
  #criuVersion: Promise<string> | undefined;

  constructor(deps: ReadySnapshotsDeps) {
    this.#d = {
      stateDir: deps.options.stateDir,
      criuBinary: deps.options.criuBinary,
      log: deps.options.logger,
      keyParts: async (templateId) => {
        const [template, { helpers, envdBundle, node }] = await Promise.all([
          currentTemplateBuild(deps.options.templatesDir, templateId),
          deps.bindSources(),
        ]);
        return template && { templateBuild: template.build, envdBundle, node, envdHelper: helpers.envdHelper };
      },
      take: deps.take,
    };
  }

  #templateDir(templateId: string): string {
    return path.join(snapshotsDir(this.#d.stateDir), templateId);
  }

  async key(templateId: string, limits: SandboxLimits): Promise<string | undefined> {
    this.#criuVersion ??= runCommand(this.#d.criuBinary, ['--version'], { timeoutMs: 10_000 }).then((r) =>
      r.stdout.trim(),
    );
    const [parts, criuVersion] = await Promise.all([this.#d.keyParts(templateId), this.#criuVersion]);
    return parts ? snapshotKey({ ...parts, criuVersion, limits }) : undefined;
  }

  /** Today's snapshot of the template for these limits, held until `release`; undefined when there is none. */
  async acquire(templateId: string, limits: SandboxLimits): Promise<ReadySnapshot | undefined> {
    const key = await this.key(templateId, limits);
    if (!key || this.#making.has(templateId)) return undefined;
    const dir = path.join(this.#templateDir(templateId), key);
    this.#inUse.set(dir, (this.#inUse.get(dir) ?? 0) + 1);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      const n = (this.#inUse.get(dir) ?? 1) - 1;
      if (n > 0) this.#inUse.set(dir, n);
      else this.#inUse.delete(dir);
    };
    const record = await readSnapshotRecord(dir);
    if (record?.key !== key) {
      release();
      return undefined;
    }
    return { paths: snapshotPaths(dir), record, release };
  }

  /** True when a create should start making one (lazily, in the background): none, not broken, not in the works. */
  async wanted(templateId: string, limits: SandboxLimits): Promise<boolean> {
    const key = await this.key(templateId, limits);
    return key !== undefined && !this.#broken.has(key) && !this.#making.has(templateId);
  }

  /** Makes today's snapshot unless it exists; concurrent calls for one template share one. */
  ensure(templateId: string, limits: SandboxLimits): Promise<SnapshotRecord> {
    const running = this.#making.get(templateId);
    if (running) return running;
    const made = this.#ensure(templateId, limits).finally(() => this.#making.delete(templateId));
    this.#making.set(templateId, made);
    return made;
  }

  async #ensure(templateId: string, limits: SandboxLimits): Promise<SnapshotRecord> {
    const [key, parts] = await Promise.all([this.key(templateId, limits), this.#d.keyParts(templateId)]);
    if (!key || !parts) throw new Error(`template ${templateId} is not built`);
    const templateDir = this.#templateDir(templateId);
    const existing = await readSnapshotRecord(path.join(templateDir, key));
    if (existing?.key === key) return existing;
    await fs.mkdir(snapshotsDir(this.#d.stateDir), { recursive: true, mode: 0o700 });
    const t0 = performance.now();
    const record = await takeSnapshot({
      ...this.#d.take,
      inFlight: this.sandboxes,
      templateId,
      templateBuild: parts.templateBuild,
      limits,
      key,
      templateDir,
    });
    this.#broken.delete(key);
    this.#d.log.info('ready snapshot made', {
      templateId,
      key,
      imageBytes: record.imageBytes,
      diskBytes: record.diskBytes,
      ms: Math.round(performance.now() - t0),
    });
    await this.#deleteStale(templateId, key);
    return record;
  }

  /** A snapshot whose restore failed: deleted, and not made again for the same key by this process. */
  async discard(snapshot: ReadySnapshot): Promise<void> {
    this.#broken.add(snapshot.record.key);
    snapshot.release();
    if (!this.#inUse.has(snapshot.paths.dir)) await removeTree(snapshot.paths.dir).catch(() => {});
  }

  async #deleteStale(templateId: string, keep: string): Promise<void> {
    const dir = this.#templateDir(templateId);
    for (const name of await fs.readdir(dir).catch(() => [] as string[])) {
      const sub = path.join(dir, name);
      // A work dir of this process is a snapshot being made; one of another pid was left by a crash.
      if (name === keep || name.endsWith(`-${process.pid}`) || this.#inUse.has(sub)) continue;
      await removeTree(sub).catch((err) => this.#d.log.warn('stale snapshot not deleted', { dir: sub, err }));
    }
  }
}
