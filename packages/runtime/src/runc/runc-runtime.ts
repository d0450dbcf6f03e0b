import fs from 'node:fs/promises';
import path from 'node:path';
import { isSandboxId, type Logger, SandboxdError, Scope, silentLogger } from '@sandboxd/common';
import { ENVD_PORT } from '@sandboxd/protocol';
import { readSandboxStats } from '../cgroups/cgroup-v1.js';
import { defaultHelpersDir, ensureHelpers, type HelperPaths } from '../host/ensure-helpers.js';
import { StagedFile } from '../host/staged-file.js';
import { defaultTemplatesDir, templateRootfs } from '../images/template-paths.js';
import { setupHostNetwork } from '../netns/host-network.js';
import { settleAll } from '../process/settle-all.js';
import { StepTimer } from '../process/step-timer.js';
import { mountSandboxRootfs } from '../rootfs/sandbox-rootfs.js';
import type { RuntimeSandbox, SandboxEndpoint, SandboxRuntime, SandboxSpec } from '../runtime.js';
import { idCount } from '../slots/slot.js';
import { defaultSlotsDir, SlotClaims } from '../slots/slot-claims.js';
import { destroySandbox } from './destroy-sandbox.js';
import { buildOciSpec } from './oci-spec.js';
import { RuncCli } from './runc-cli.js';
import { mountsDir, sandboxesDir, sandboxPaths } from './sandbox-paths.js';
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
  logger?: Logger;
  /** How long create waits for envd's /health (default 15 s). */
  healthTimeoutMs?: number;
  envdPort?: number;
  /** Test hook: runs before each create step; throwing from it injects a failure at that step. */
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
      logger: silentLogger,
      healthTimeoutMs: 15_000,
      envdPort: ENVD_PORT,
      ...options,
      stateDir: path.resolve(options.stateDir),
    };
    this.#runc = new RuncCli(path.join(this.#o.stateDir, 'runc'), this.#o.runcBinary);
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
    if (
      !(await fs.stat(lower).then(
        (s) => s.isDirectory(),
        () => false,
      ))
    ) {
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
    await timer.step('health', () =>
      waitForHealth(slot.address, this.#o.envdPort, {
        timeoutMs: this.#o.healthTimeoutMs,
        signal,
        isAlive: () => isAlive(pid),
      }),
    );
    return { sandboxId, address: slot.address, envdPort: this.#o.envdPort, pid };
  }

  kill(sandboxId: string): Promise<void> {
    if (!isSandboxId(sandboxId))
      return Promise.reject(new SandboxdError('INVALID_REQUEST', `invalid sandbox id ${sandboxId}`));
    const running = this.#killing.get(sandboxId);
    if (running) return running;
    const done = destroySandbox(sandboxId, this.#paths(sandboxId), {
      runc: this.#runc,
      slots: this.#slots,
    }).finally(() => this.#killing.delete(sandboxId));
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
      sandboxes.push({
        sandboxId: id,
        address: record.address,
        envdPort: this.#o.envdPort,
        pid: state?.pid ?? 0,
        status: !state ? 'unknown' : state.status === 'running' ? 'running' : 'stopped',
      });
    }
    return sandboxes;
  }

  sweep(keep: ReadonlySet<string>): Promise<string[]> {
    return sweepOrphans({
      stateDir: this.#o.stateDir,
      runDir: this.#o.runDir,
      keep: new Set([...keep, ...this.#creating]),
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

/** mkdir -p, then 0711 on the dir and its parent (ours): see sandbox-paths.ts. Higher parents must already be traversable. */
async function makeTraversable(dir: string): Promise<void> {
  await fs.mkdir(dir, { recursive: true });
  for (const d of [path.dirname(dir), dir]) {
    const stat = await fs.stat(d);
    if ((stat.mode & 0o001) === 0) await fs.chmod(d, (stat.mode & 0o777) | 0o711);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
