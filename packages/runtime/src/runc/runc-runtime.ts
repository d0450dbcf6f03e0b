import fs from 'node:fs/promises';
import path from 'node:path';
import { isSandboxId, type Logger, SandboxdError } from '@sandboxd/common';
import { readSandboxStats } from '../cgroups/cgroup-v1.js';
import { readPauseRecord, removePauseRecord } from '../checkpoint/pause-record.js';
import { pauseSandbox } from '../checkpoint/pause-sandbox.js';
import { ensurePrivateDir, isDirectory, makeTraversable } from '../host/host-fs.js';
import { currentTemplateBuild } from '../images/template-builds.js';
import { setupHostNetwork } from '../netns/host-network.js';
import { CreateGate } from '../process/create-gate.js';
import { isAlive } from '../process/is-alive.js';
import { removeTree } from '../process/mounts.js';
import { StepTimer } from '../process/step-timer.js';
import { terminateUserProcesses } from '../process/terminate-processes.js';
import type {
  PausedSandbox,
  PauseOptions,
  ReadySnapshotInfo,
  ResumeOptions,
  RuntimeSandbox,
  SandboxEndpoint,
  SandboxLimits,
  SandboxRuntime,
  SandboxSpec,
} from '../runtime.js';
import { SlotClaims } from '../slots/slot-claims.js';
import { createFromSnapshot, templatesWithStart } from '../snapshots/create-from-snapshot.js';
import { ReadySnapshots } from '../snapshots/ready-snapshots.js';
import { BindSources } from './bind-sources.js';
import { createSandbox, SandboxExistsError } from './create-sandbox.js';
import { listSandboxes } from './list-sandboxes.js';
import { resumeRuncSandbox } from './resume-runc-sandbox.js';
import { RuncCli } from './runc-cli.js';
import { type ResolvedOptions, type RuncRuntimeOptions, resolveOptions } from './runtime-options.js';
import { mountsDir, type SandboxPaths, sandboxesDir, sandboxPaths } from './sandbox-paths.js';
import { readRecord, type SandboxRecord } from './sandbox-record.js';
import { sweepOrphans } from './sweep-orphans.js';
import { type TeardownMode, teardownSandbox } from './teardown-sandbox.js';
import { templateStartEnv } from './template-start-env.js';
import { waitForHealth } from './wait-health.js';

export type { RuncRuntimeOptions } from './runtime-options.js';

/**
 * SandboxRuntime on runc: overlay(idmapped template, ext4 loop upper) + user namespace + runc-made
 * netns plumbed by a prestart hook + cgroup v1 limits (ARCHITECTURE.md, "The runtime"). Host
 * resources are only ever taken apart by teardown-sandbox.ts; the maps here only order operations.
 */
export class RuncRuntime implements SandboxRuntime {
  readonly #o: ResolvedOptions;
  readonly #runc: RuncCli;
  readonly #slots: SlotClaims;
  readonly #log: Logger;
  /** Creates in flight: a sweep must not take their half-built resources for orphans. */
  readonly #creating = new Set<string>();
  readonly #createGate: CreateGate;
  readonly #killing = new Map<string, Promise<void>>();
  /** Pauses and resumes in flight: a second one is refused, kill waits for it, sweep keeps it. */
  readonly #transitions = new Map<string, Promise<unknown>>();
  readonly #binds: BindSources;
  readonly #snapshots: ReadySnapshots;
  #initialized: Promise<void> | undefined;

  constructor(options: RuncRuntimeOptions) {
    this.#o = resolveOptions(options);
    this.#runc = new RuncCli(path.join(this.#o.stateDir, 'runc'), this.#o.runcBinary, this.#o.criuBinary);
    this.#slots = new SlotClaims(this.#o.slotsDir);
    this.#log = this.#o.logger;
    this.#createGate = new CreateGate(this.#o.maxConcurrentCreates);
    this.#binds = new BindSources(this.#o);
    this.#snapshots = new ReadySnapshots({
      options: this.#o,
      bindSources: () => this.#bindSources(),
      take: {
        create: (spec) => this.create(spec),
        pause: (id) => this.pause(id, { memory: true }),
        kill: (id) => this.kill(id),
        paths: (id) => this.#paths(id),
      },
    });
  }

  async ensureReadySnapshot(templateId: string, limits: SandboxLimits, signal?: AbortSignal) {
    await this.init();
    const { record, made } = await this.#snapshots.ensure(templateId, limits, signal);
    return { templateId, key: record.key, imageBytes: record.imageBytes, diskBytes: record.diskBytes, made };
  }

  async readySnapshot(templateId: string, limits: SandboxLimits) {
    const record = await this.#snapshots.current(templateId, limits);
    return record && { templateId, key: record.key, imageBytes: record.imageBytes, diskBytes: record.diskBytes };
  }

  /** ensureReadySnapshot for every built template with a start command, one after the other. */
  async ensureReadySnapshots(limits: SandboxLimits, signal?: AbortSignal): Promise<ReadySnapshotInfo[]> {
    const made: ReadySnapshotInfo[] = [];
    for (const id of await templatesWithStart(this.#o.templatesDir))
      made.push(await this.ensureReadySnapshot(id, limits, signal));
    return made;
  }

  init(): Promise<void> {
    const legacy = path.join(this.#o.stateDir, 'snapshots');
    this.#initialized ??= (async () => {
      await Promise.all([
        this.#binds.helpers(),
        // Root only: disk images, CRIU images (memory, tokens included) and bundles (envd's env).
        ensurePrivateDir(sandboxesDir(this.#o.stateDir), 0o700),
        ensurePrivateDir(this.#runc.root, 0o700),
        // Traversable, not listable: each sandbox's own dir there admits only root and that sandbox.
        makeTraversable(path.dirname(mountsDir(this.#o.runDir))).then(() =>
          ensurePrivateDir(mountsDir(this.#o.runDir), 0o711),
        ),
        setupHostNetwork(),
        // Where each server kept its own ready snapshots before the machine-wide store: dead weight.
        legacy === this.#o.snapshotsDir
          ? undefined
          : removeTree(legacy).catch((err) => this.#log.warn('old snapshots dir not deleted', { dir: legacy, err })),
      ]);
    })().catch((err) => {
      this.#initialized = undefined;
      throw new SandboxdError('RUNTIME_FAILED', 'runtime host setup failed', { cause: err });
    });
    return this.#initialized;
  }

  async create(spec: SandboxSpec, signal?: AbortSignal): Promise<SandboxEndpoint> {
    const { sandboxId } = spec;
    if (!isSandboxId(sandboxId)) throw new SandboxdError('INVALID_REQUEST', `invalid sandbox id ${sandboxId}`);
    if (this.#creating.has(sandboxId))
      throw new SandboxdError('INVALID_TRANSITION', `sandbox ${sandboxId} is being created`);
    const template = await currentTemplateBuild(this.#o.templatesDir, spec.templateId);
    if (!template) throw new SandboxdError('TEMPLATE_NOT_FOUND', `template ${spec.templateId} is not built`);
    const log = this.#log.child({ sandboxId });
    const timer = new StepTimer(async (step) => {
      signal?.throwIfAborted();
      await this.#o.beforeStep?.(step, sandboxId);
    });
    this.#creating.add(sandboxId);
    const leave = await this.#createGate.enter(signal).catch((err: unknown) => {
      this.#creating.delete(sandboxId);
      throw err;
    });
    try {
      // The template's start command goes into envd's boot environment (a restore keeps the dumped one).
      const booted = { ...spec, envdEnv: { ...spec.envdEnv, ...templateStartEnv(template) } };
      const restored =
        spec.fromSnapshot === false ? undefined : await this.#fromSnapshot(booted, template.rootfs, signal);
      if (restored) return restored;
      const { helpers, envdBundle, node } = await this.#bindSources();
      const { address, pid } = await createSandbox({
        spec: booted,
        paths: this.#paths(sandboxId),
        stateDir: this.#o.stateDir,
        templateRootfs: template.rootfs,
        templateBuild: template.build,
        helpers,
        envdBundlePath: envdBundle,
        initBinary: this.#o.initBinary,
        nodeBinary: node,
        runc: this.#runc,
        slots: this.#slots,
        waitForHealth: (address, pid) => this.#waitForHealth(address, pid, signal, template.ready?.timeoutMs),
        timer,
      });
      log.info('sandbox created', { from: 'cold', ms: timer.elapsedMs(), steps: timer.steps });
      return { sandboxId, address, envdPort: this.#o.envdPort, pid, from: 'cold' };
    } catch (err) {
      // Before its state dir existed there is nothing of ours to take apart (and an existing one is someone else's).
      const rolledBack =
        err instanceof SandboxExistsError || !('state-dir' in timer.steps)
          ? true
          : await this.#teardown(sandboxId, 'destroy').then(
              () => true,
              () => false,
            );
      log.warn('sandbox create failed', { err, steps: timer.steps, rolledBack });
      if (SandboxdError.is(err) || signal?.aborted) throw err;
      // The cause carries runc's own message (read from its log).
      throw new SandboxdError('RUNTIME_FAILED', `creating sandbox ${sandboxId} failed`, { cause: err });
    } finally {
      leave();
      this.#creating.delete(sandboxId);
    }
  }

  /** A restore of the template's ready snapshot, or undefined to create cold (create-from-snapshot.ts). */
  #fromSnapshot(spec: SandboxSpec, templateRootfs: string, signal: AbortSignal | undefined) {
    return createFromSnapshot(spec, templateRootfs, signal, {
      snapshots: this.#snapshots,
      options: this.#o,
      runc: this.#runc,
      slots: this.#slots,
      paths: this.#paths(spec.sandboxId),
      bindSources: () => this.#bindSources(),
      waitForHealth: (address, pid) => this.#waitForHealth(address, pid, signal),
      destroy: () => this.#teardown(spec.sandboxId, 'destroy'),
    });
  }

  /** `readyTimeoutMs`: what the template's ready check may take on top of envd's start-up. */
  #waitForHealth(address: string, pid: number, signal: AbortSignal | undefined, readyTimeoutMs = 0): Promise<void> {
    return waitForHealth(address, this.#o.envdPort, {
      timeoutMs: this.#o.healthTimeoutMs + readyTimeoutMs,
      signal,
      isAlive: () => isAlive(pid),
    });
  }

  pause(sandboxId: string, options: PauseOptions = {}): Promise<PausedSandbox> {
    return this.#transition(sandboxId, 'pause', async ({ paths, record, timer, log }) => {
      if (await readPauseRecord(paths.pauseRecord)) {
        if ((await this.#container(sandboxId))?.status !== 'running') {
          throw new SandboxdError('INVALID_TRANSITION', `sandbox ${sandboxId} is already paused`);
        }
        // A resume that crashed after its restore, before its commit: the sandbox runs; the record is stale.
        await removePauseRecord(paths);
      }
      const memory = options.memory ?? true;
      const release = () => this.#teardown(sandboxId, 'release');
      const paused = await pauseSandbox({ runc: this.#runc, paths, record, memory, release, timer, log });
      log.info('sandbox paused', { memory, imageBytes: paused.imageBytes, ms: timer.elapsedMs(), steps: timer.steps });
      return paused;
    });
  }

  resume(sandboxId: string, options: ResumeOptions = {}): Promise<SandboxEndpoint> {
    return this.#transition(sandboxId, 'resume', (ctx) =>
      resumeRuncSandbox(ctx, options, {
        runc: this.#runc,
        slots: this.#slots,
        options: this.#o,
        container: () => this.#container(sandboxId),
        release: () => this.#teardown(sandboxId, 'release'),
        bindSources: () => this.#bindSources(),
        // A fresh boot runs the template's start command again (a memory restore is ready at once).
        waitForHealth: (pid) => this.#waitForHealth(ctx.record.address, pid, options.signal, resumeReadyBudgetMs),
      }),
    );
  }

  /** runc's view of the container; its state dir is checked first, so the common "none" costs no runc spawn. */
  async #container(sandboxId: string) {
    if (!(await isDirectory(path.join(this.#runc.root, sandboxId)))) return undefined;
    return this.#runc.state(sandboxId);
  }

  /** Runs one pause or resume: checks the id and that nothing else runs on the sandbox, times its steps. */
  #transition<T>(
    sandboxId: string,
    op: 'pause' | 'resume',
    run: (ctx: { paths: SandboxPaths; record: SandboxRecord; timer: StepTimer; log: Logger }) => Promise<T>,
  ): Promise<T> {
    if (!isSandboxId(sandboxId))
      return Promise.reject(new SandboxdError('INVALID_REQUEST', `invalid sandbox id ${sandboxId}`));
    if (this.#transitions.has(sandboxId) || this.#creating.has(sandboxId) || this.#killing.has(sandboxId)) {
      return Promise.reject(new SandboxdError('INVALID_TRANSITION', `sandbox ${sandboxId} is busy; cannot ${op}`));
    }
    const done = (async () => {
      const paths = this.#paths(sandboxId);
      const record = await readRecord(paths.dir);
      if (!record) throw new SandboxdError('SANDBOX_NOT_FOUND', `sandbox ${sandboxId} not found`);
      const timer = new StepTimer((step) => this.#o.beforeStep?.(`${op}:${step}`, sandboxId));
      return run({ paths, record, timer, log: this.#log.child({ sandboxId }) });
    })();
    const tracked = done.finally(() => this.#transitions.delete(sandboxId));
    this.#transitions.set(
      sandboxId,
      tracked.catch(() => undefined),
    );
    return tracked;
  }

  kill(sandboxId: string): Promise<void> {
    if (!isSandboxId(sandboxId))
      return Promise.reject(new SandboxdError('INVALID_REQUEST', `invalid sandbox id ${sandboxId}`));
    const running = this.#killing.get(sandboxId);
    if (running) return running;
    // A pause or resume in flight finishes first (its failure is its caller's): then everything goes.
    const transition = this.#transitions.get(sandboxId) ?? Promise.resolve();
    const done = transition
      .then(() => this.#teardown(sandboxId, 'destroy'))
      .finally(() => this.#killing.delete(sandboxId));
    this.#killing.set(sandboxId, done);
    return done;
  }

  terminate(sandboxId: string, graceMs: number): ReturnType<SandboxRuntime['terminate']> {
    if (!isSandboxId(sandboxId))
      return Promise.reject(new SandboxdError('INVALID_REQUEST', `invalid sandbox id ${sandboxId}`));
    return terminateUserProcesses(sandboxId, graceMs);
  }

  async hasStopped(sandboxId: string): Promise<boolean> {
    if (!isSandboxId(sandboxId) || this.#creating.has(sandboxId)) return false;
    if (this.#transitions.has(sandboxId) || this.#killing.has(sandboxId)) return false;
    return (await this.#runc.state(sandboxId))?.status === 'stopped';
  }

  list(): Promise<RuntimeSandbox[]> {
    return listSandboxes({
      stateDir: this.#o.stateDir,
      runc: this.#runc,
      envdPort: this.#o.envdPort,
      paths: (id) => this.#paths(id),
      skip: new Set([...this.#creating, ...this.#snapshots.sandboxes]),
      busy: new Set(this.#transitions.keys()),
    });
  }

  sweep(keep: ReadonlySet<string>): Promise<string[]> {
    return sweepOrphans({
      stateDir: this.#o.stateDir,
      runDir: this.#o.runDir,
      keep: new Set([...keep, ...this.#creating, ...this.#transitions.keys(), ...this.#snapshots.sandboxes]),
      runc: this.#runc,
      slots: this.#slots,
      kill: (id) => this.kill(id),
      log: this.#log,
    });
  }

  stats(sandboxId: string): ReturnType<SandboxRuntime['stats']> {
    return readSandboxStats(sandboxId);
  }

  async diskUsage(sandboxId: string): ReturnType<NonNullable<SandboxRuntime['diskUsage']>> {
    if (!isSandboxId(sandboxId)) return undefined;
    const st = await fs.stat(this.#paths(sandboxId).diskImage).catch(() => undefined);
    // st.blocks counts 512-byte units whatever the filesystem's block size.
    return st && { sizeBytes: st.size, allocatedBytes: st.blocks * 512 };
  }

  #paths(sandboxId: string) {
    return sandboxPaths(this.#o.stateDir, this.#o.runDir, sandboxId);
  }

  #teardown(sandboxId: string, mode: TeardownMode): Promise<void> {
    return teardownSandbox(sandboxId, this.#paths(sandboxId), mode, {
      runc: this.#runc,
      slots: this.#slots,
      stateDir: this.#o.stateDir,
      log: this.#log,
      ...(this.#o.beforeStep ? { beforeStep: this.#o.beforeStep } : {}),
    });
  }

  #bindSources() {
    return this.#binds.files();
  }
}

/** How long a resume's fresh boot may wait for a template's start command to be ready. */
const resumeReadyBudgetMs = 120_000;
