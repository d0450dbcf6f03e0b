import fs from 'node:fs/promises';
import path from 'node:path';
import { isSandboxId, type Logger, SandboxdError, Scope, silentLogger } from '@sandboxd/common';
import { ENVD_PORT } from '@sandboxd/protocol';
import { readSandboxStats } from '../cgroups/cgroup-v1.js';
import { readPauseRecord, removePauseRecord } from '../checkpoint/pause-record.js';
import { pauseSandbox } from '../checkpoint/pause-sandbox.js';
import { resumeSandbox } from '../checkpoint/resume-sandbox.js';
import { defaultCriuBinary } from '../host/criu.js';
import { defaultHelpersDir, ensureHelpers, type HelperPaths } from '../host/ensure-helpers.js';
import { isDirectory, makeTraversable } from '../host/host-fs.js';
import { StagedFile } from '../host/staged-file.js';
import { defaultTemplatesDir, templateRootfs } from '../images/template-paths.js';
import { setupHostNetwork } from '../netns/host-network.js';
import { isAlive } from '../process/is-alive.js';
import { settleAll } from '../process/settle-all.js';
import { StepTimer } from '../process/step-timer.js';
import { mountSandboxRootfs } from '../rootfs/sandbox-rootfs.js';
import type {
  PausedSandbox,
  PauseOptions,
  ResumeOptions,
  RuntimeSandbox,
  SandboxEndpoint,
  SandboxRuntime,
  SandboxSpec,
} from '../runtime.js';
import { idCount } from '../slots/slot.js';
import { defaultSlotsDir, SlotClaims } from '../slots/slot-claims.js';
import { destroyContainer, destroySandbox } from './destroy-sandbox.js';
import { buildOciSpec } from './oci-spec.js';
import { RuncCli } from './runc-cli.js';
import { mountsDir, type SandboxPaths, sandboxesDir, sandboxPaths } from './sandbox-paths.js';
import { readRecord, type SandboxRecord, writeRecord } from './sandbox-record.js';
import { sweepOrphans } from './sweep-orphans.js';
import { waitForHealth } from './wait-health.js';

export interface RuncRuntimeOptions {
  /** Per-server state: `<stateDir>/sandboxes/<id>/` and runc's `--root <stateDir>/runc`. */
  stateDir: string;
  /** Machine-wide template store (default /var/lib/sandboxd/templates). */
  templatesDir?: string;
  /** Where idmount and the network hook are installed (default /var/lib/sandboxd/helpers). */
  helpersDir?: string;
  /** Machine-wide slot claims (default /var/lib/sandboxd/slots); shared by every server. */
  slotsDir?: string;
  /**
   * Machine-wide, world-traversable dir for mount points and the staged envd bundle
   * (default /run/sandboxd); see sandbox-paths.ts for why they cannot live in stateDir.
   */
  runDir?: string;
  /** envd's single-file bundle, bind-mounted read-only as /opt/sandboxd/envd.mjs. */
  envdBundlePath: string;
  /** Host node binary run as envd's interpreter (default: this process's). */
  nodeBinary?: string;
  /** Static init reaping zombies as PID 1 (default /usr/bin/tini-static). */
  initBinary?: string;
  runcBinary?: string;
  /** CRIU for pause/resume (default: the build `sandboxd setup` installs, /usr/local/sbin/criu). */
  criuBinary?: string;
  logger?: Logger;
  /** How long create waits for envd's /health (default 15 s). */
  healthTimeoutMs?: number;
  envdPort?: number;
  /** Test hook: runs before each create, pause and resume step; throwing from it injects a failure there. */
  beforeStep?: (step: string, sandboxId: string) => void | Promise<void>;
}

/**
 * SandboxRuntime on runc: overlay(idmapped template, ext4 loop upper) + user namespace + runc-made
 * netns plumbed by a prestart hook + cgroup v1 limits. See DESIGN.md §3 and RUNTIME-NOTES Part B.
 */
export class RuncRuntime implements SandboxRuntime {
  readonly #o: Required<Omit<RuncRuntimeOptions, 'beforeStep'>> & Pick<RuncRuntimeOptions, 'beforeStep'>;
  readonly #runc: RuncCli;
  readonly #slots: SlotClaims;
  readonly #log: Logger;
  /** Creates in flight: a sweep must not take their half-built resources for orphans. */
  readonly #creating = new Set<string>();
  readonly #killing = new Map<string, Promise<void>>();
  /** Pauses and resumes in flight: a second one is refused, kill waits for it, sweep keeps it. */
  readonly #transitions = new Map<string, Promise<unknown>>();
  readonly #envd: StagedFile;
  #helpers: Promise<HelperPaths> | undefined;
  #initialized: Promise<void> | undefined;

  constructor(options: RuncRuntimeOptions) {
    this.#o = {
      templatesDir: defaultTemplatesDir,
      helpersDir: defaultHelpersDir,
      slotsDir: defaultSlotsDir,
      runDir: '/run/sandboxd',
      nodeBinary: process.execPath,
      initBinary: '/usr/bin/tini-static',
      runcBinary: 'runc',
      criuBinary: defaultCriuBinary,
      logger: silentLogger,
      healthTimeoutMs: 15_000,
      envdPort: ENVD_PORT,
      ...options,
      stateDir: path.resolve(options.stateDir),
    };
    this.#runc = new RuncCli(path.join(this.#o.stateDir, 'runc'), this.#o.runcBinary, this.#o.criuBinary);
    this.#slots = new SlotClaims(this.#o.slotsDir);
    this.#log = this.#o.logger;
    this.#envd = new StagedFile(this.#o.envdBundlePath, path.join(this.#o.runDir, 'envd'));
  }

  init(): Promise<void> {
    this.#initialized ??= (async () => {
      await Promise.all([
        this.#ensureHelpers(),
        fs.mkdir(sandboxesDir(this.#o.stateDir), { recursive: true }),
        fs.mkdir(this.#runc.root, { recursive: true }),
        makeTraversable(mountsDir(this.#o.runDir)),
        setupHostNetwork(),
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
    const lower = templateRootfs(this.#o.templatesDir, spec.templateId);
    if (!(await isDirectory(lower))) {
      throw new SandboxdError('TEMPLATE_NOT_FOUND', `template ${spec.templateId} is not built`);
    }
    const log = this.#log.child({ sandboxId });
    const timer = new StepTimer(async (step) => {
      signal?.throwIfAborted();
      await this.#o.beforeStep?.(step, sandboxId);
    });
    const scope = new Scope();
    this.#creating.add(sandboxId);
    try {
      const endpoint = await this.#create(spec, lower, scope, timer, signal);
      scope.release();
      log.info('sandbox created', { ms: timer.elapsedMs(), steps: timer.steps });
      return endpoint;
    } catch (err) {
      const errors = await scope.dispose();
      log.warn('sandbox create failed; rolled back', { err, steps: timer.steps, rollbackErrors: errors.length });
      for (const e of errors) log.error('rollback step failed', { err: e });
      if (SandboxdError.is(err) || signal?.aborted) throw err;
      // The cause carries runc's own message (read from its log).
      throw new SandboxdError('RUNTIME_FAILED', `creating sandbox ${sandboxId} failed`, { cause: err });
    } finally {
      this.#creating.delete(sandboxId);
    }
  }

  async #create(
    spec: SandboxSpec,
    lower: string,
    scope: Scope,
    timer: StepTimer,
    signal: AbortSignal | undefined,
  ): Promise<SandboxEndpoint> {
    const { sandboxId } = spec;
    const paths = this.#paths(sandboxId);
    const [helpers, envdBundlePath] = await Promise.all([this.#ensureHelpers(), this.#envd.path()]);
    await timer.step('state-dir', async () => {
      await fs.mkdir(path.dirname(paths.dir), { recursive: true });
      await fs.mkdir(paths.dir).catch((err: NodeJS.ErrnoException) => {
        throw err.code === 'EEXIST' ? new SandboxdError('INVALID_TRANSITION', `sandbox ${sandboxId} exists`) : err;
      });
      scope.defer('remove state and mount dirs', async () => {
        await fs.rm(paths.mountDir, { recursive: true, force: true });
        await fs.rm(paths.dir, { recursive: true, force: true });
      });
    });
    const slot = await timer.step('slot', () => this.#slots.claim(this.#o.stateDir, sandboxId));
    scope.defer('release slot', () => this.#slots.release(slot.index, sandboxId));
    const record: SandboxRecord = {
      sandboxId,
      templateId: spec.templateId,
      slot: slot.index,
      uidBase: slot.uidBase,
      address: slot.address,
      hostAddress: slot.hostAddress,
      veth: slot.veth,
      limits: spec.limits,
      createdAt: new Date().toISOString(),
    };
    const config = buildOciSpec({
      sandboxId,
      rootfs: paths.rootfs,
      uidBase: slot.uidBase,
      idCount,
      limits: spec.limits,
      env: spec.envdEnv,
      initBinary: this.#o.initBinary,
      nodeBinary: this.#o.nodeBinary,
      envdBundlePath,
      envdHelper: helpers.envdHelper,
      netHook: {
        path: helpers.netHook,
        veth: slot.veth,
        hostCidr: `${slot.hostAddress}/30`,
        sandboxCidr: `${slot.address}/30`,
      },
    });
    await settleAll([
      timer.step('files', () =>
        Promise.all([writeRecord(paths.dir, record), fs.writeFile(paths.config, JSON.stringify(config))]),
      ),
      timer.step('rootfs', () =>
        mountSandboxRootfs({
          paths,
          templateRootfs: lower,
          uidBase: slot.uidBase,
          idCount,
          diskSizeMiB: spec.limits.diskSizeMiB,
          idmountBinary: helpers.idmount,
          scope,
          timer,
        }),
      ),
    ]);
    const pid = await timer.step('runc-run', async () => {
      // Registered before the call: a failed `runc run` can leave a created container or cgroups.
      scope.defer('delete container', () => destroySandbox(sandboxId, paths, { runc: this.#runc, slots: this.#slots }));
      return this.#runc.run(sandboxId, paths.dir, { log: paths.runcLog, pid: paths.pidFile });
    });
    await timer.step('health', () => this.#waitForHealth(slot.address, pid, signal));
    return { sandboxId, address: slot.address, envdPort: this.#o.envdPort, pid };
  }

  #waitForHealth(address: string, pid: number, signal: AbortSignal | undefined): Promise<void> {
    return waitForHealth(address, this.#o.envdPort, {
      timeoutMs: this.#o.healthTimeoutMs,
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
      const paused = await pauseSandbox({ runc: this.#runc, paths, record, memory, timer, log });
      log.info('sandbox paused', { memory, imageBytes: paused.imageBytes, ms: timer.elapsedMs(), steps: timer.steps });
      return paused;
    });
  }

  resume(sandboxId: string, options: ResumeOptions = {}): Promise<SandboxEndpoint> {
    return this.#transition(sandboxId, 'resume', async ({ paths, record, timer, log }) => {
      const [paused, container] = await Promise.all([readPauseRecord(paths.pauseRecord), this.#container(sandboxId)]);
      if (!paused) throw new SandboxdError('INVALID_TRANSITION', `sandbox ${sandboxId} is not paused`);
      const endpoint = { sandboxId, address: record.address, envdPort: this.#o.envdPort };
      if (container?.status === 'running') {
        // An earlier resume restored it and crashed before its commit: finish that commit.
        await removePauseRecord(paths);
        return { ...endpoint, pid: container.pid };
      }
      // A dead leftover container (its restored PID 1 exited) would make `runc restore` fail with "exists".
      if (container) await destroyContainer(sandboxId, this.#runc, record.veth);
      const lower = templateRootfs(this.#o.templatesDir, record.templateId);
      if (!(await isDirectory(lower))) {
        throw new SandboxdError('TEMPLATE_NOT_FOUND', `template ${record.templateId} of ${sandboxId} is gone`);
      }
      const [helpers, envdBundlePath] = await Promise.all([this.#ensureHelpers(), this.#envd.path()]);
      const restoreMemory = paused.memory && options.memory !== false;
      const pid = await resumeSandbox({
        runc: this.#runc,
        slots: this.#slots,
        stateDir: this.#o.stateDir,
        paths,
        record,
        paused,
        restoreMemory,
        ...(options.envdEnv ? { envdEnv: options.envdEnv } : {}),
        templateRootfs: lower,
        idmountBinary: helpers.idmount,
        envdBundlePath,
        waitForHealth: (pid) => this.#waitForHealth(record.address, pid, options.signal),
        timer,
        log,
      });
      log.info('sandbox resumed', { memory: restoreMemory, ms: timer.elapsedMs(), steps: timer.steps });
      return { ...endpoint, pid };
    });
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
      .then(() => destroySandbox(sandboxId, this.#paths(sandboxId), { runc: this.#runc, slots: this.#slots }))
      .finally(() => this.#killing.delete(sandboxId));
    this.#killing.set(sandboxId, done);
    return done;
  }

  async list(): Promise<RuntimeSandbox[]> {
    const ids = await fs.readdir(sandboxesDir(this.#o.stateDir)).catch(() => [] as string[]);
    const states = new Map((await this.#runc.list().catch(() => [])).map((s) => [s.id, s]));
    const sandboxes: RuntimeSandbox[] = [];
    for (const id of ids) {
      if (this.#creating.has(id)) continue;
      const record = await readRecord(this.#paths(id).dir);
      if (!record) continue;
      const state = states.get(id);
      // A container wins over a pause record: a resume that crashed after the restore but
      // before its commit left a running sandbox.
      const paused = state?.status === 'running' ? undefined : await readPauseRecord(this.#paths(id).pauseRecord);
      sandboxes.push({
        sandboxId: id,
        address: record.address,
        envdPort: this.#o.envdPort,
        pid: paused ? 0 : (state?.pid ?? 0),
        status: paused ? 'paused' : !state ? 'unknown' : state.status === 'running' ? 'running' : 'stopped',
        ...(paused ? { paused } : {}),
      });
    }
    return sandboxes;
  }

  sweep(keep: ReadonlySet<string>): Promise<string[]> {
    return sweepOrphans({
      stateDir: this.#o.stateDir,
      runDir: this.#o.runDir,
      keep: new Set([...keep, ...this.#creating, ...this.#transitions.keys()]),
      runc: this.#runc,
      slots: this.#slots,
      kill: (id) => this.kill(id),
      log: this.#log,
    });
  }

  stats(sandboxId: string): ReturnType<SandboxRuntime['stats']> {
    return readSandboxStats(sandboxId);
  }

  #paths(sandboxId: string) {
    return sandboxPaths(this.#o.stateDir, this.#o.runDir, sandboxId);
  }

  #ensureHelpers(): Promise<HelperPaths> {
    this.#helpers ??= ensureHelpers(this.#o.helpersDir).catch((err) => {
      this.#helpers = undefined;
      throw err;
    });
    return this.#helpers;
  }
}
