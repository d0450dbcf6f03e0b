import path from 'node:path';
import type { Logger } from '@sandboxd/common';
import type { HelperPaths } from '../host/ensure-helpers.js';
import { ensurePrivateDir } from '../host/host-fs.js';
import { acquireBuildLock } from '../images/build-lock.js';
import { currentTemplateBuild } from '../images/template-builds.js';
import { runCommand } from '../process/run-command.js';
import type { ResolvedOptions } from '../runc/runtime-options.js';
import type { SandboxLimits } from '../runtime.js';
import { type SnapshotKeyParts, snapshotKey } from './snapshot-key.js';
import { readSnapshotRecord, type SnapshotPaths, type SnapshotRecord, snapshotPaths } from './snapshot-record.js';
import { deleteSnapshotDir, pruneSnapshots, snapshotLockName } from './snapshot-retention.js';
import { type TakeSnapshotInput, takeSnapshot } from './take-snapshot.js';

export interface ReadySnapshot {
  paths: SnapshotPaths;
  record: SnapshotRecord;
  /** Call once the restore no longer reads the snapshot's files. */
  release: () => void;
}

export interface EnsuredSnapshot {
  record: SnapshotRecord;
  /** False when it was there already (made by this or another server, or by `sandboxd setup`). */
  made: boolean;
}

export interface ReadySnapshotsDeps {
  options: Pick<ResolvedOptions, 'snapshotsDir' | 'templatesDir' | 'criuBinary' | 'logger'>;
  /** Today's bind sources (content-named), for the key. */
  bindSources: () => Promise<{ helpers: HelperPaths; envdBundle: string; node: string }>;
  take: Omit<TakeSnapshotInput, 'templateId' | 'templateBuild' | 'limits' | 'key' | 'templateDir' | 'inFlight'>;
}

/**
 * The machine's ready snapshots, `<snapshotsDir>/<templateId>/<key>/` (root-only), shared by every
 * server: one that finds today's snapshot there restores it, whoever made it. At most one is made
 * at a time per template on the machine (a lock file beside them); stale ones are pruned when a
 * new one is made (snapshot-retention.ts), renamed away first so a restore reading one in another
 * server fails cleanly and boots cold; this process never deletes one its own restores still
 * read. A snapshot that failed to restore is deleted and not made again by this process.
 */
export class ReadySnapshots {
  readonly #d: {
    snapshotsDir: string;
    criuBinary: string;
    log: Logger;
    keyParts: (templateId: string) => Promise<Omit<SnapshotKeyParts, 'criuVersion' | 'limits'> | undefined>;
    take: ReadySnapshotsDeps['take'];
  };
  readonly #making = new Map<string, Promise<EnsuredSnapshot>>();
  readonly #inUse = new Map<string, number>();
  readonly #broken = new Set<string>();
  /** Ids of the sandboxes being made into snapshots right now. */
  readonly sandboxes = new Set<string>();
  #criuVersion: Promise<string> | undefined;

  constructor(deps: ReadySnapshotsDeps) {
    this.#d = {
      snapshotsDir: deps.options.snapshotsDir,
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
    return path.join(this.#d.snapshotsDir, templateId);
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

  /**
   * Makes today's snapshot unless it exists (`made` says which); concurrent calls for one template
   * share one. `signal` ends a wait for another process making it (never a snapshot in the making).
   */
  ensure(templateId: string, limits: SandboxLimits, signal?: AbortSignal): Promise<EnsuredSnapshot> {
    const running = this.#making.get(templateId);
    if (running) return running;
    const made = this.#ensure(templateId, limits, signal).finally(() => this.#making.delete(templateId));
    this.#making.set(templateId, made);
    return made;
  }

  /** Today's snapshot if it exists, without making one. */
  async current(templateId: string, limits: SandboxLimits): Promise<SnapshotRecord | undefined> {
    const key = await this.key(templateId, limits);
    const record = key && (await readSnapshotRecord(path.join(this.#templateDir(templateId), key)));
    return record && record.key === key ? record : undefined;
  }

  async #ensure(templateId: string, limits: SandboxLimits, signal?: AbortSignal): Promise<EnsuredSnapshot> {
    const [key, parts] = await Promise.all([this.key(templateId, limits), this.#d.keyParts(templateId)]);
    if (!key || !parts) throw new Error(`template ${templateId} is not built`);
    const templateDir = this.#templateDir(templateId);
    const found = await this.current(templateId, limits);
    if (found) return { record: found, made: false };
    // Root-only all the way down: the images hold the snapshot's memory.
    await ensurePrivateDir(this.#d.snapshotsDir, 0o700);
    await ensurePrivateDir(templateDir, 0o700);
    // Machine-wide: another server (or `sandboxd setup`) making this template's snapshot right now
    // is waited for, and its snapshot used, rather than a second one made beside it.
    const unlock = await acquireBuildLock(
      path.join(templateDir, snapshotLockName),
      () => this.#d.log.info('waiting for another process making the ready snapshot', { templateId }),
      signal,
    );
    try {
      const madeMeanwhile = await this.current(templateId, limits);
      if (madeMeanwhile) return { record: madeMeanwhile, made: false };
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
      await pruneSnapshots(templateDir, key, parts.templateBuild, this.#d.log);
      return { record, made: true };
    } finally {
      await unlock();
    }
  }

  /**
   * A snapshot whose restore failed: deleted and not made again for the same key by this process
   * (creates go cold). Unless it is no longer the one that failed (deleted or made again
   * meanwhile, maybe by another server: the restore lost a race, the snapshot is not broken), or
   * a restore of this process still reads it.
   */
  async discard(snapshot: ReadySnapshot): Promise<void> {
    snapshot.release();
    if ((await readSnapshotRecord(snapshot.paths.dir))?.initToken !== snapshot.record.initToken) return;
    this.#broken.add(snapshot.record.key);
    if (!this.#inUse.has(snapshot.paths.dir)) await deleteSnapshotDir(snapshot.paths.dir).catch(() => {});
  }
}
