import { type Clock, type Logger, newSandboxId, randomToken, SandboxdError } from '@sandboxd/common';
import type { SandboxLimits, SandboxRuntime } from '@sandboxd/runtime';
import type { ListSandboxesQuery, SandboxRecord, SandboxState, Store, Team } from '../store/store.js';
import { Admission, deadlineFor } from './admission.js';
import { DeadlineScheduler } from './deadline-scheduler.js';
import { EventLog } from './event-log.js';
import { ExitWatcher } from './exit-watcher.js';
import { Expiry } from './expiry.js';
import { type HostStorage, MiB } from './host-storage.js';
import { KillRetries } from './kill-retries.js';
import { type CreateSandboxCommand, newSandboxRecord } from './new-record.js';
import { type LifecycleHooks, SandboxOperations } from './operations.js';
import { type ReconcileResult, reconcile } from './reconcile.js';
import { RouteTable, type SandboxRoute } from './route-table.js';
import { SerialQueue } from './serial-queue.js';
import { StateWriter } from './state-writer.js';
import { visibleStates } from './transitions.js';
import { type WakeCredentials, wakeRefusal } from './wake-access.js';
import { claimWarmSandbox } from './warm-handover.js';
import type { WarmPools } from './warm-pools.js';

export type { CreateSandboxCommand } from './new-record.js';
export type { LifecycleHooks } from './operations.js';
export type { SandboxRoute } from './route-table.js';
export type { WakeCredentials } from './wake-access.js';

export interface SandboxServiceOptions {
  store: Store;
  runtime: SandboxRuntime;
  clock: Clock;
  logger: Logger;
  /** Limits of every sandbox (templates do not carry their own yet). */
  limits: SandboxLimits;
  /**
   * The template id the runtime starts for a requested one (aliases resolved); rejects with a
   * clean 404 (TEMPLATE_NOT_FOUND, or TEMPLATE_NOT_BUILT saying how to build it) before any work.
   */
  resolveTemplate: (templateId: string) => Promise<string>;
  /** Pre-started sandboxes per template; a create of a pooled template is handed one when available. */
  pools?: WarmPools;
  /** Observers for metrics: how late expiries are, how long pauses and resumes take. */
  hooks?: LifecycleHooks;
  /**
   * Admission against the host's free space (creates and memory pauses answer 507 when it cannot
   * hold what they may write). The server always has one; tests of other logic may leave it out.
   */
  storage?: HostStorage;
}

/** Builds the next metadata from the current one; throws INVALID_REQUEST when the result is invalid. */
export type MetadataUpdate = (current: Record<string, string>) => Record<string, string>;

/**
 * The lifecycle's public face: checks who may do what, admits against the team's plan, orders
 * every operation on a sandbox through its serial queue, and joins duplicate pauses. Every state
 * change goes through the StateWriter (transitions.ts is its table); the runtime side of each
 * move is in operations.ts, the deadline in expiry.ts, start-up in reconcile.ts.
 */
export class SandboxService {
  readonly #queue = new SerialQueue();
  readonly #routes = new RouteTable();
  readonly #scheduler: DeadlineScheduler;
  /** Every transition, recorded and streamed (GET /events). */
  readonly events: EventLog;
  readonly #admission = new Admission();
  readonly #writer: StateWriter;
  readonly #ops: SandboxOperations;
  readonly #expiry: Expiry;
  readonly #exits: ExitWatcher;
  /** Pauses under way: a second pause call joins the first instead of answering 409. */
  readonly #pausing = new Map<string, Promise<void>>();
  #closing: Promise<void> | undefined;

  constructor(private readonly o: SandboxServiceOptions) {
    this.events = new EventLog(o.store);
    this.#scheduler = new DeadlineScheduler(
      {
        nextDeadline: () => o.store.nextDeadline(),
        expiredIds: (now) => o.store.expiredSandboxes(now).map((r) => r.id),
      },
      o.clock,
      (id) => this.#queue.run(id, () => this.#expiry.expire(id)),
    );
    const { store, clock, logger } = o;
    this.#writer = new StateWriter({
      store,
      clock,
      events: this.events,
      routes: this.#routes,
      reschedule: () => this.#scheduler.reschedule(),
    });
    const admit = (team: Team) => this.#admit(team);
    const retries = new KillRetries({ store, queue: this.#queue, kill: (r, c, d) => this.#ops.kill(r, c, d), logger });
    this.#ops = new SandboxOperations({
      ...o,
      writer: this.#writer,
      admit,
      storage: o.storage,
      hooks: o.hooks,
      onKillIncomplete: (id, cause, detail) => retries.schedule(id, cause, detail),
    });
    this.#expiry = new Expiry({ store, clock, logger, writer: this.#writer, ops: this.#ops, hooks: o.hooks });
    const routes = this.#routes;
    this.#exits = new ExitWatcher({ runtime: o.runtime, store, routes, queue: this.#queue, ops: this.#ops, logger });
  }

  runningCount(): number {
    return this.#routes.size;
  }

  route(sandboxId: string): SandboxRoute | undefined {
    return this.#routes.get(sandboxId);
  }

  /** Called with a sandbox id whenever it stops serving (kill, pause, expiry): the proxy drops its streams. */
  onStop(listener: (sandboxId: string) => void): () => void {
    return this.#routes.onDrop(listener);
  }

  async create(team: Team, requested: CreateSandboxCommand): Promise<SandboxRecord> {
    // The other operations are refused by the closed queue; a create would insert its row first.
    if (this.#closing) throw new SandboxdError('SHUTTING_DOWN');
    const cmd = { ...requested, templateId: await this.o.resolveTemplate(requested.templateId) };
    // The team's limits first (429, no disk touched), then the host's space (507): the new
    // sandbox's disk may grow to its full size. Neither leaves anything behind when it refuses.
    const release = this.#admit(team, this.o.limits.diskSizeMiB);
    let releaseStorage = () => {};
    try {
      if (this.o.storage) {
        releaseStorage = await this.o.storage.admitDisk(this.o.limits.diskSizeMiB * MiB, 'a new sandbox');
      }
      const envdAccessToken = cmd.secure ? randomToken(24) : null;
      const warm = await claimWarmSandbox(this.o, cmd.templateId, {
        envVars: cmd.envVars,
        ...(envdAccessToken ? { accessToken: envdAccessToken } : {}),
      });
      const id = warm?.sandboxId ?? newSandboxId();
      const record = this.#writer.insert(
        newSandboxRecord(team, cmd, { id, envdAccessToken, limits: this.o.limits, now: this.o.clock.now() }),
        'user',
        warm && 'from the warm pool',
      );
      release(); // the stored row counts itself from here on
      const running = await this.#queue.run(id, async () =>
        // A warm sandbox is handed over already: it serves under its owner's token.
        warm
          ? this.#writer.apply(record, 'start', { cause: 'user', endpoint: warm })
          : this.#ops.startCold(team, record),
      );
      this.o.logger.info('sandbox running', {
        sandboxId: id,
        teamId: team.id,
        templateId: cmd.templateId,
        warm: !!warm,
      });
      return running;
    } finally {
      release();
      releaseStorage(); // running: what it wrote is on disk; failed: its disk is gone
    }
  }

  get(team: Team, sandboxId: string): SandboxRecord {
    const record = this.o.store.getSandbox(sandboxId);
    if (!record || record.teamId !== team.id || !visibleStates.includes(record.state)) {
      throw new SandboxdError('SANDBOX_NOT_FOUND', `sandbox ${sandboxId} not found`);
    }
    return record;
  }

  list(query: ListSandboxesQuery): SandboxRecord[] {
    return this.o.store.listSandboxes(query);
  }

  /** Also of a sandbox left `killing` by a teardown that could not finish: the kill is retried. */
  async kill(team: Team, sandboxId: string): Promise<void> {
    this.#killable(team, sandboxId);
    // Re-checked inside the queue: of two racing kills, the second finds the sandbox gone (404).
    await this.#queue.run(sandboxId, () => this.#ops.kill(this.#killable(team, sandboxId), 'user'));
  }

  /**
   * A graceful close: a running sandbox's processes get SIGTERM and up to `graceMs` to exit
   * (nothing else runs on the sandbox meanwhile: the close holds its queue), then it is killed.
   * A paused sandbox is killed without being resumed. The `killed` event says `detail: 'closed'`,
   * so every event stream can tell a close from a kill.
   */
  async closeSandbox(team: Team, sandboxId: string, graceMs: number): Promise<void> {
    this.#killable(team, sandboxId);
    await this.#queue.run(sandboxId, () => this.#ops.close(this.#killable(team, sandboxId), graceMs));
  }

  #killable(team: Team, sandboxId: string): SandboxRecord {
    const record = this.o.store.getSandbox(sandboxId);
    if (record?.state === 'killing' && record.teamId === team.id) return record;
    return this.get(team, sandboxId);
  }

  /**
   * Sets the deadline to now + timeout (may shorten or extend), as E2B's setTimeout does. A
   * deadline already reached (timeout 0, or a plan window used up) expires the sandbox before the
   * call answers, so the caller's next request finds it killed (or paused), not half-way there.
   */
  async setTimeout(team: Team, sandboxId: string, timeoutSeconds: number): Promise<void> {
    this.get(team, sandboxId);
    await this.#queue.run(sandboxId, async () => {
      const record = this.#requireState(team, sandboxId, ['running']);
      const endAt = this.#deadline(team, record.runtimeStartedAt, timeoutSeconds);
      this.#writer.apply(record, 'set-timeout', {
        cause: 'user',
        patch: { endAt },
        detail: new Date(endAt).toISOString(),
      });
      this.#expiry.deadlineMoved(sandboxId);
      if (endAt > this.o.clock.now()) return;
      // The deadline's own outcome: a failure here is the scheduler's to retry, not the caller's error.
      await this.#expiry.expire(sandboxId).catch((err: unknown) => {
        this.o.logger.warn('expiry after setTimeout failed', { sandboxId, err });
      });
    });
  }

  /**
   * Connect: a running sandbox keeps the later of its deadline and now + timeout (never
   * shortened); a paused one is resumed (`resumed: true`, the API answers 201) with a new run of
   * `timeoutSeconds`. `memory: false` resumes a memory pause as a fresh boot from its disk.
   */
  async connect(
    team: Team,
    sandboxId: string,
    timeoutSeconds: number,
    options: { memory?: boolean } = {},
  ): Promise<{ record: SandboxRecord; resumed: boolean }> {
    this.get(team, sandboxId);
    return this.#queue.run(sandboxId, async () => {
      const record = this.#requireState(team, sandboxId, ['running', 'paused']);
      if (record.state === 'paused') {
        return { record: await this.#ops.resume(team, record, timeoutSeconds, options.memory, 'user'), resumed: true };
      }
      const endAt = Math.max(record.endAt, this.#deadline(team, record.runtimeStartedAt, timeoutSeconds));
      if (endAt === record.endAt) return { record, resumed: false };
      this.#expiry.deadlineMoved(sandboxId);
      return {
        record: this.#writer.apply(record, 'extend-deadline', { cause: 'user', patch: { endAt } }),
        resumed: false,
      };
    });
  }

  /** The deprecated `POST /sandboxes/{id}/resume`: like connect, but a running sandbox is a 409. */
  async resume(team: Team, sandboxId: string, timeoutSeconds: number): Promise<SandboxRecord> {
    this.get(team, sandboxId);
    return this.#queue.run(sandboxId, () =>
      this.#ops.resume(team, this.#requireState(team, sandboxId, ['paused']), timeoutSeconds, undefined, 'user'),
    );
  }

  /**
   * Pauses a running sandbox, keeping its memory (CRIU) or only its disk. Resolves once what it
   * keeps is on stable storage and the state reads `paused`. A pause already under way is joined;
   * an already paused sandbox is INVALID_TRANSITION (409, which the SDK reads as "already paused").
   */
  async pause(team: Team, sandboxId: string, options: { memory: boolean }): Promise<void> {
    this.get(team, sandboxId);
    const underway = this.#pausing.get(sandboxId);
    if (underway) return underway;
    const pausing = this.#queue.run(sandboxId, () =>
      this.#ops.pause(this.#requireState(team, sandboxId, ['running']), options.memory, 'user'),
    );
    this.#pausing.set(sandboxId, pausing);
    try {
      await pausing;
    } finally {
      if (this.#pausing.get(sandboxId) === pausing) this.#pausing.delete(sandboxId);
    }
  }

  /**
   * Traffic reached a sandbox that is not routed: if it is paused with autoResume and the request
   * carries the credential its port requires, resume it (with the timeout it was created with) so
   * the proxy can serve the request. Answers the catalog error that refuses the request when it
   * lacks the credential (the sandbox stays paused); otherwise never throws: a sandbox that cannot
   * be woken simply stays unreachable (502).
   */
  async wakeOnTraffic(sandboxId: string, credentials: WakeCredentials): Promise<SandboxdError | undefined> {
    const record = this.o.store.getSandbox(sandboxId);
    // A disk-only pause loses processes and connections: arbitrary traffic must not reboot it
    // (E2B refuses the same); it resumes only on an explicit connect.
    if (record?.state !== 'paused' || !record.autoResume || record.pausedMemory === false) return undefined;
    const refusal = wakeRefusal(record, credentials);
    if (refusal) return refusal;
    const team = this.o.store.getTeam(record.teamId);
    if (!team) return undefined;
    await this.#queue
      .run(sandboxId, async () => {
        const current = this.o.store.getSandbox(sandboxId);
        if (current?.state !== 'paused') return; // another request woke it first
        await this.#ops.resume(team, current, current.timeoutSeconds, undefined, 'traffic');
      })
      .catch((err: unknown) => this.o.logger.warn('resume on traffic failed', { sandboxId, err }));
    return undefined;
  }

  /** Replaces the metadata with what `update` makes of it; works while running or paused. */
  async updateMetadata(team: Team, sandboxId: string, update: MetadataUpdate): Promise<SandboxRecord> {
    this.get(team, sandboxId);
    return this.#queue.run(sandboxId, async () => {
      const record = this.get(team, sandboxId);
      return this.#writer.apply(record, 'update-metadata', {
        cause: 'user',
        patch: { metadata: update(record.metadata) },
      });
    });
  }

  /** Start-up: make the store and the runtime agree (see reconcile.ts), then watch the deadlines. */
  async reconcile(): Promise<ReconcileResult> {
    const result = await reconcile({ ...this.o, writer: this.#writer });
    this.#scheduler.reschedule();
    this.#exits.start();
    return result;
  }

  /** Kills the running sandboxes whose container stopped by itself (the watcher does it every few seconds). */
  checkForExits(): Promise<void> {
    return this.#exits.check();
  }

  /** Ends every live event stream (first step of a shutdown: they would hold the HTTP server open). */
  closeEventStreams(): void {
    this.events.close();
  }

  /**
   * Stop the scheduler and let in-flight operations finish; sandboxes keep running. Idempotent;
   * operations asked for afterwards fail with SHUTTING_DOWN.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.closeEventStreams();
      this.#scheduler.stop();
      this.#exits.stop();
      await this.#queue.close();
      await this.o.pools?.close();
    })();
    return this.#closing;
  }

  /** The sandbox as stored, for this team, in one of `states` (409 otherwise). */
  #requireState(team: Team, sandboxId: string, states: SandboxState[]): SandboxRecord {
    const record = this.get(team, sandboxId);
    if (!states.includes(record.state)) {
      throw new SandboxdError('INVALID_TRANSITION', `sandbox ${sandboxId} is ${record.state}`);
    }
    return record;
  }

  /** A place against the team's limits (see Admission), with `diskMiB` for a create; returns its release. */
  #admit(team: Team, diskMiB = 0): () => void {
    return this.#admission.admit(team, this.o.store.teamUsage(team.id), diskMiB);
  }

  /** now + timeout, clamped to the team's plan counted from `runtimeStartedAt` (see deadlineFor). */
  #deadline(team: Team, runtimeStartedAt: number, timeoutSeconds: number): number {
    return deadlineFor(team, runtimeStartedAt, timeoutSeconds, this.o.clock.now());
  }
}
