import { type Clock, type Logger, newSandboxId, randomToken, SandboxdError } from '@sandboxd/common';
import { ENVD_CONFIG_ENV, ENVD_PORT, ENVD_VERSION, encodeEnvdBootConfig } from '@sandboxd/protocol';
import type { SandboxEndpoint, SandboxLimits, SandboxRuntime } from '@sandboxd/runtime';
import type { ListSandboxesQuery, SandboxEvent, SandboxRecord, SandboxState, Store, Team } from '../store/store.js';
import { Admission, deadlineFor } from './admission.js';
import { DeadlineScheduler } from './deadline-scheduler.js';
import { EventLog } from './event-log.js';
import { RouteTable, type SandboxRoute } from './route-table.js';

export type { SandboxRoute } from './route-table.js';

import { SerialQueue } from './serial-queue.js';
import { assertTransition, visibleStates } from './transitions.js';
import { claimWarmSandbox } from './warm-handover.js';
import type { WarmPool } from './warm-pool.js';

export interface CreateSandboxCommand {
  templateId: string;
  timeoutSeconds: number;
  metadata: Record<string, string>;
  envVars: Record<string, string>;
  secure: boolean;
  allowInternetAccess: boolean;
  autoPause: boolean;
  autoPauseMemory: boolean;
  autoResume: boolean;
}

export interface SandboxServiceOptions {
  store: Store;
  runtime: SandboxRuntime;
  clock: Clock;
  logger: Logger;
  /** Limits of every sandbox (templates do not carry their own yet). */
  limits: SandboxLimits;
  /** Templates the runtime can start; an unknown id is a clean 404 before any work. */
  templateExists: (templateId: string) => Promise<boolean>;
  /** Pre-started sandboxes; creates of its template are handed one when available. */
  pool?: WarmPool;
  /** Observers for metrics: how late expiries are, how long pauses and resumes take. */
  hooks?: LifecycleHooks;
}

export interface LifecycleHooks {
  /** How late (ms after endAt) an expired sandbox stopped serving. */
  expired?(latenessMs: number): void;
  paused?(ms: number, memory: boolean): void;
  resumed?(ms: number): void;
}

/** Builds the next metadata from the current one; throws INVALID_REQUEST when the result is invalid. */
export type MetadataUpdate = (current: Record<string, string>) => Record<string, string>;

/** After an auto-pause on timeout failed (the sandbox runs on), when to try again. */
const pauseRetryMs = 60_000;

/**
 * Owns every sandbox's life: the state machine, the per-sandbox queue, deadlines, and the routing
 * table the proxy reads. Intent is written to the store before a side effect and the result after
 * it, so `reconcile()` at start-up can finish or undo whatever a crash interrupted.
 */
export class SandboxService {
  readonly #queue = new SerialQueue();
  readonly #routes = new RouteTable();
  readonly #scheduler: DeadlineScheduler;
  /** Every transition, recorded and streamed (GET /events). */
  readonly events: EventLog;
  readonly #admission = new Admission();
  /** Pauses under way: a second pause call joins the first instead of answering 409. */
  readonly #pausing = new Map<string, Promise<void>>();

  constructor(private readonly o: SandboxServiceOptions) {
    this.events = new EventLog(o.store, o.clock);
    this.#scheduler = new DeadlineScheduler(
      {
        nextDeadline: () => o.store.nextDeadline(),
        expiredIds: (now) => o.store.expiredSandboxes(now).map((r) => r.id),
      },
      o.clock,
      (id) => this.#expire(id),
    );
  }

  runningCount(): number {
    return this.#routes.size;
  }

  route(sandboxId: string): SandboxRoute | undefined {
    return this.#routes.get(sandboxId);
  }

  /** Called with a sandbox id whenever it stops serving (kill, expiry): the proxy drops its streams. */
  onStop(listener: (sandboxId: string) => void): () => void {
    return this.#routes.onDrop(listener);
  }

  async create(team: Team, cmd: CreateSandboxCommand): Promise<SandboxRecord> {
    if (!(await this.o.templateExists(cmd.templateId))) {
      throw new SandboxdError('TEMPLATE_NOT_FOUND', `template '${cmd.templateId}' not found`);
    }
    const release = this.#admit(team);
    try {
      const envdAccessToken = cmd.secure ? randomToken(24) : null;
      const warm = await claimWarmSandbox(this.o, cmd.templateId, {
        envVars: cmd.envVars,
        ...(envdAccessToken ? { accessToken: envdAccessToken } : {}),
      });
      const record = this.#newRecord(team, cmd, warm?.sandboxId ?? newSandboxId(), envdAccessToken);
      if (warm) {
        // Handed over already: the sandbox is serving under its owner's token.
        const running: SandboxRecord = { ...record, state: 'running', address: warm.address, envdPort: warm.envdPort };
        this.o.store.insertSandbox(running);
        this.events.record(running, 'created', 'user', 'from the warm pool');
        this.#serve(running, warm, true);
        return running;
      }
      this.o.store.insertSandbox(record);
      this.events.record(record, 'created', 'user');
      release(); // the stored row counts itself from here on
      return await this.#queue.run(record.id, () => this.#startCold(team, cmd, record));
    } finally {
      release();
    }
  }

  #newRecord(team: Team, cmd: CreateSandboxCommand, id: string, envdAccessToken: string | null): SandboxRecord {
    const now = this.o.clock.now();
    const record: SandboxRecord = {
      id,
      teamId: team.id,
      templateId: cmd.templateId,
      alias: cmd.templateId,
      state: 'creating',
      metadata: cmd.metadata,
      envVars: cmd.envVars,
      ...this.#limits(),
      envdVersion: ENVD_VERSION,
      envdAccessToken,
      allowInternetAccess: cmd.allowInternetAccess,
      autoPause: cmd.autoPause,
      autoPauseMemory: cmd.autoPauseMemory,
      autoResume: cmd.autoResume,
      timeoutSeconds: cmd.timeoutSeconds,
      pausedAt: null,
      pausedMemory: null,
      startedAt: now,
      runtimeStartedAt: now,
      endAt: now,
      address: null,
      envdPort: null,
    };
    return { ...record, endAt: this.#deadline(team, record.runtimeStartedAt, cmd.timeoutSeconds) };
  }

  async #startCold(team: Team, cmd: CreateSandboxCommand, record: SandboxRecord): Promise<SandboxRecord> {
    const log = this.o.logger.child({ sandboxId: record.id, teamId: team.id });
    try {
      const endpoint = await this.o.runtime.create({
        sandboxId: record.id,
        templateId: record.templateId,
        limits: this.o.limits,
        envdEnv: this.#envdEnv(record),
      });
      // The deadline counts from the moment the sandbox is usable, not from the request.
      const running: SandboxRecord = {
        ...record,
        state: 'running',
        endAt: this.#deadline(team, record.runtimeStartedAt, cmd.timeoutSeconds),
        address: endpoint.address,
        envdPort: endpoint.envdPort,
      };
      this.o.store.updateSandbox(record.id, {
        state: 'running',
        endAt: running.endAt,
        address: endpoint.address,
        envdPort: endpoint.envdPort,
      });
      this.#serve(running, endpoint, false);
      return running;
    } catch (err) {
      log.error('sandbox create failed', { err });
      this.o.store.updateSandbox(record.id, { state: 'killed' });
      this.events.record(record, 'killed', 'error', err instanceof Error ? err.message : String(err));
      if (SandboxdError.is(err)) throw err;
      throw new SandboxdError('RUNTIME_FAILED', 'failed to start the sandbox', { cause: err });
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

  async kill(team: Team, sandboxId: string): Promise<void> {
    this.get(team, sandboxId);
    await this.#queue.run(sandboxId, async () => {
      // Re-checked inside the queue: of two racing kills, the second finds the sandbox gone (404).
      this.get(team, sandboxId);
      await this.#kill(sandboxId, 'user');
    });
  }

  /** Sets the deadline to now + timeout (may shorten or extend), as E2B's setTimeout does. */
  async setTimeout(team: Team, sandboxId: string, timeoutSeconds: number): Promise<void> {
    this.get(team, sandboxId);
    await this.#queue.run(sandboxId, async () => {
      const record = this.#requireState(sandboxId, ['running']);
      const endAt = this.#deadline(team, record.runtimeStartedAt, timeoutSeconds);
      this.o.store.updateSandbox(sandboxId, { endAt });
      this.events.record(record, 'timeout-set', 'user', new Date(endAt).toISOString());
      this.#scheduler.reschedule();
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
      const record = this.#requireState(sandboxId, ['running', 'paused']);
      if (record.state === 'paused') {
        return { record: await this.#resume(team, record, timeoutSeconds, options.memory, 'user'), resumed: true };
      }
      const endAt = Math.max(record.endAt, this.#deadline(team, record.runtimeStartedAt, timeoutSeconds));
      if (endAt !== record.endAt) {
        this.o.store.updateSandbox(sandboxId, { endAt });
        this.#scheduler.reschedule();
      }
      return { record: { ...record, endAt }, resumed: false };
    });
  }

  /** The deprecated `POST /sandboxes/{id}/resume`: like connect, but a running sandbox is a 409. */
  async resume(team: Team, sandboxId: string, timeoutSeconds: number): Promise<SandboxRecord> {
    this.get(team, sandboxId);
    return this.#queue.run(sandboxId, async () => {
      const record = this.#requireState(sandboxId, ['paused']);
      return this.#resume(team, record, timeoutSeconds, undefined, 'user');
    });
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
    const pausing = this.#queue.run(sandboxId, async () => {
      const record = this.#requireState(sandboxId, ['running']);
      await this.#pause(record, options.memory, 'user');
    });
    this.#pausing.set(sandboxId, pausing);
    try {
      await pausing;
    } finally {
      if (this.#pausing.get(sandboxId) === pausing) this.#pausing.delete(sandboxId);
    }
  }

  /**
   * Traffic reached a sandbox that is not routed: if it is paused with autoResume, resume it
   * (with the timeout it was created with) so the proxy can serve the request. Never throws: a
   * sandbox that cannot be woken simply stays unreachable (502).
   */
  async wakeOnTraffic(sandboxId: string): Promise<void> {
    const record = this.o.store.getSandbox(sandboxId);
    // A disk-only pause loses processes and connections: arbitrary traffic must not reboot it
    // (E2B refuses the same); it resumes only on an explicit connect.
    if (record?.state !== 'paused' || !record.autoResume || record.pausedMemory === false) return;
    const team = this.o.store.getTeam(record.teamId);
    if (!team) return;
    await this.#queue
      .run(sandboxId, async () => {
        const current = this.o.store.getSandbox(sandboxId);
        if (current?.state !== 'paused') return; // another request woke it first
        await this.#resume(team, current, current.timeoutSeconds, undefined, 'traffic');
      })
      .catch((err: unknown) => this.o.logger.warn('resume on traffic failed', { sandboxId, err }));
  }

  /** Replaces the metadata with what `update` makes of it; works while running or paused. */
  async updateMetadata(team: Team, sandboxId: string, update: MetadataUpdate): Promise<SandboxRecord> {
    this.get(team, sandboxId);
    return this.#queue.run(sandboxId, async () => {
      const record = this.get(team, sandboxId);
      const metadata = update(record.metadata);
      this.o.store.updateSandbox(sandboxId, { metadata });
      this.events.record(record, 'metadata-updated', 'user');
      return { ...record, metadata };
    });
  }

  /**
   * Start-up: make the store and the runtime agree. Running sandboxes are re-adopted (a resume
   * that crashed after its restore counts as done); paused ones are kept (a pause that crashed
   * after its commit counts as done, one that crashed before it leaves the sandbox running);
   * rows whose sandbox is gone become `killed`; the runtime sweeps everything else.
   */
  async reconcile(): Promise<{ adopted: string[]; paused: string[]; lost: string[]; swept: string[] }> {
    const live = new Map((await this.o.runtime.list()).map((s) => [s.sandboxId, s]));
    const adopted: string[] = [];
    const paused: string[] = [];
    const lost: string[] = [];
    const now = this.o.clock.now();
    const candidates = this.o.store.sandboxesInStates([
      'creating',
      'running',
      'killing',
      'pausing',
      'paused',
      'resuming',
    ]);
    for (const record of candidates) {
      const sandbox = live.get(record.id);
      const interrupted = record.state === 'pausing' || record.state === 'resuming';
      if (sandbox?.status === 'running' && (record.state === 'running' || interrupted)) {
        if (record.state === 'resuming') {
          const team = this.o.store.getTeam(record.teamId);
          const endAt = team ? deadlineFor(team, now, record.timeoutSeconds, now) : now + record.timeoutSeconds * 1000;
          this.o.store.updateSandbox(record.id, { runtimeStartedAt: now, endAt, pausedAt: null, pausedMemory: null });
        }
        this.o.store.updateSandbox(record.id, {
          state: 'running',
          address: sandbox.address,
          envdPort: sandbox.envdPort,
        });
        if (interrupted) this.events.record(record, record.state === 'resuming' ? 'resumed' : 'running', 'system');
        this.#routes.set(record.id, sandbox);
        adopted.push(record.id);
        continue;
      }
      if (sandbox?.status === 'paused' && (record.state === 'paused' || interrupted)) {
        if (record.state !== 'paused') {
          this.o.store.updateSandbox(record.id, {
            state: 'paused',
            pausedAt: record.pausedAt ?? now,
            pausedMemory: sandbox.paused?.memory ?? true,
          });
          this.events.record(record, 'paused', 'system', 'an interrupted pause or resume left it paused');
        }
        paused.push(record.id);
        continue;
      }
      this.o.store.updateSandbox(record.id, { state: 'killed' });
      this.events.record(
        record,
        'killed',
        'system',
        `${record.state} sandbox not found intact after a restart of the server`,
      );
      lost.push(record.id);
    }
    const swept = await this.o.runtime.sweep(new Set([...adopted, ...paused]));
    this.#scheduler.reschedule();
    return { adopted, paused, lost, swept };
  }

  /** Ends every live event stream (first step of a shutdown: they would hold the HTTP server open). */
  closeEventStreams(): void {
    this.events.close();
  }

  /** Stop the scheduler and let in-flight operations finish; sandboxes keep running. */
  async close(): Promise<void> {
    this.closeEventStreams();
    this.#scheduler.stop();
    await this.#queue.drain();
    await this.o.pool?.close();
  }

  async #expire(sandboxId: string): Promise<void> {
    await this.#queue.run(sandboxId, async () => {
      const record = this.o.store.getSandbox(sandboxId);
      // A setTimeout or connect may have moved the deadline while this waited in the queue.
      const now = this.o.clock.now();
      if (record?.state !== 'running' || record.endAt > now) return;
      this.o.hooks?.expired?.(now - record.endAt);
      if (!record.autoPause) {
        await this.#kill(sandboxId, 'timeout');
        return;
      }
      try {
        await this.#pause(record, record.autoPauseMemory, 'timeout');
      } catch {
        // Still running (the dump failed and the sandbox was thawed): killing it would lose
        // exactly what the pause was meant to keep, so try again in a minute.
        if (this.o.store.getSandbox(sandboxId)?.state === 'running') {
          this.o.store.updateSandbox(sandboxId, { endAt: this.o.clock.now() + pauseRetryMs });
        }
      }
    });
  }

  /** running → pausing → paused. The caller holds the sandbox's queue and checked `running`. */
  async #pause(record: SandboxRecord, memory: boolean, cause: SandboxEvent['cause']): Promise<void> {
    const sandboxId = record.id;
    assertTransition(sandboxId, record.state, 'pausing');
    this.o.store.updateSandbox(sandboxId, { state: 'pausing' });
    this.events.record(record, 'pausing', cause, memory ? 'memory and disk' : 'disk only');
    // Unrouted first: open streams are dropped and new requests get 502 (or wake it, with
    // autoResume, once the pause is done) while CRIU dumps.
    this.#unroute(sandboxId);
    const started = performance.now();
    try {
      const paused = await this.o.runtime.pause(sandboxId, { memory });
      this.o.store.updateSandbox(sandboxId, { state: 'paused', pausedAt: this.o.clock.now(), pausedMemory: memory });
      const ms = performance.now() - started;
      this.o.hooks?.paused?.(ms, memory);
      this.events.record(
        record,
        'paused',
        cause,
        `${memory ? 'memory and disk' : 'disk only'}, ${paused.imageBytes} bytes`,
      );
      this.o.logger.info('sandbox paused', { sandboxId, memory, ms: Math.round(ms), imageBytes: paused.imageBytes });
      this.#scheduler.reschedule();
    } catch (err) {
      this.o.logger.error('sandbox pause failed', { sandboxId, err });
      // A failed dump leaves the sandbox running and unchanged; anything else cannot be trusted.
      const left = (await this.o.runtime.list().catch(() => [])).find((s) => s.sandboxId === sandboxId);
      if (left?.status === 'running') {
        this.o.store.updateSandbox(sandboxId, { state: 'running' });
        this.#routes.set(sandboxId, left);
        this.events.record(record, 'running', 'error', 'the pause failed; the sandbox runs on');
      } else {
        await this.#kill(sandboxId, 'error');
      }
      // A refused pause (the sandbox would not freeze) is the client's to retry: 503 with Retry-After.
      if (SandboxdError.is(err) && err.code === 'PAUSE_REFUSED' && left?.status === 'running') throw err;
      throw new SandboxdError('RUNTIME_FAILED', 'failed to pause the sandbox', { cause: err });
    }
  }

  /**
   * paused → resuming → running, with a new run: the runtime window and the deadline start now.
   * The caller holds the queue and checked `paused`. On failure the sandbox stays paused.
   */
  async #resume(
    team: Team,
    record: SandboxRecord,
    timeoutSeconds: number,
    memory: boolean | undefined,
    cause: SandboxEvent['cause'],
  ): Promise<SandboxRecord> {
    const sandboxId = record.id;
    const release = this.#admit(team);
    try {
      assertTransition(sandboxId, record.state, 'resuming');
      this.o.store.updateSandbox(sandboxId, { state: 'resuming' });
    } finally {
      release(); // the `resuming` row counts itself
    }
    this.events.record(record, 'resuming', cause);
    const started = performance.now();
    try {
      // A fresh boot (disk-only pause, or memory: false) starts envd from its boot config again:
      // give it the owner's, which a sandbox from the warm pool was not created with.
      const endpoint = await this.o.runtime.resume(sandboxId, {
        ...(memory === false ? { memory: false } : {}),
        envdEnv: this.#envdEnv(record),
      });
      const now = this.o.clock.now();
      const running: SandboxRecord = {
        ...record,
        runtimeStartedAt: now,
        state: 'running',
        endAt: deadlineFor(team, now, timeoutSeconds, now),
        address: endpoint.address,
        envdPort: endpoint.envdPort,
        pausedAt: null,
        pausedMemory: null,
      };
      this.o.store.updateSandbox(sandboxId, {
        state: 'running',
        runtimeStartedAt: now,
        endAt: running.endAt,
        address: endpoint.address,
        envdPort: endpoint.envdPort,
        pausedAt: null,
        pausedMemory: null,
      });
      this.#routes.set(sandboxId, endpoint);
      const ms = performance.now() - started;
      this.o.hooks?.resumed?.(ms);
      this.events.record(running, 'resumed', cause);
      this.o.logger.info('sandbox resumed', { sandboxId, ms: Math.round(ms) });
      this.#scheduler.reschedule();
      return running;
    } catch (err) {
      this.o.logger.error('sandbox resume failed', { sandboxId, err });
      this.o.store.updateSandbox(sandboxId, { state: 'paused' });
      this.events.record(record, 'paused', 'error', 'the resume failed; the sandbox stays paused');
      if (SandboxdError.is(err) && err.code !== 'RUNTIME_FAILED') throw err;
      throw new SandboxdError('RUNTIME_FAILED', 'failed to resume the sandbox; it stays paused with its state', {
        cause: err,
      });
    }
  }

  /** Stops routing to the sandbox: the proxy answers 502 and drops its open streams. */
  #unroute(sandboxId: string): void {
    this.#routes.drop(sandboxId);
  }

  async #kill(sandboxId: string, cause: SandboxEvent['cause']): Promise<void> {
    const record = this.o.store.getSandbox(sandboxId);
    if (!record || record.state === 'killed') return;
    assertTransition(sandboxId, record.state, 'killing');
    this.o.store.updateSandbox(sandboxId, { state: 'killing' });
    // Stop routing first: from here on the proxy answers 502 and open streams are dropped.
    this.#unroute(sandboxId);
    try {
      await this.o.runtime.kill(sandboxId);
    } catch (err) {
      // The row stays `killing`; the next start-up sweep finishes the job.
      this.o.logger.error('sandbox kill failed', { sandboxId, err });
      throw new SandboxdError('RUNTIME_FAILED', 'failed to kill the sandbox', { cause: err });
    }
    this.o.store.updateSandbox(sandboxId, { state: 'killed' });
    this.events.record(record, 'killed', cause);
    this.#scheduler.reschedule();
  }

  /** The sandbox is running and stored as such: route it, record it, and watch its deadline. */
  #serve(running: SandboxRecord, endpoint: SandboxEndpoint, warm: boolean): void {
    this.#routes.set(running.id, endpoint);
    this.events.record(running, 'running', 'user');
    this.#scheduler.reschedule();
    this.o.logger.info('sandbox running', {
      sandboxId: running.id,
      teamId: running.teamId,
      templateId: running.templateId,
      address: endpoint.address,
      warm,
    });
  }

  #requireState(sandboxId: string, states: SandboxState[]): SandboxRecord {
    const record = this.o.store.getSandbox(sandboxId);
    if (!record || !visibleStates.includes(record.state)) {
      throw new SandboxdError('SANDBOX_NOT_FOUND', `sandbox ${sandboxId} not found`);
    }
    if (!states.includes(record.state)) {
      throw new SandboxdError('INVALID_TRANSITION', `sandbox ${sandboxId} is ${record.state}`);
    }
    return record;
  }

  /** A place against the team's concurrent limit (see Admission); returns its release. */
  #admit(team: Team): () => void {
    return this.#admission.admit(team, this.o.store.countActiveSandboxes(team.id));
  }

  /** now + timeout, clamped to the team's plan counted from `runtimeStartedAt` (see deadlineFor). */
  #deadline(team: Team, runtimeStartedAt: number, timeoutSeconds: number): number {
    return deadlineFor(team, runtimeStartedAt, timeoutSeconds, this.o.clock.now());
  }

  /** envd's boot environment for this sandbox: its owner's token and env vars. */
  #envdEnv(record: SandboxRecord): Record<string, string> {
    return {
      [ENVD_CONFIG_ENV]: encodeEnvdBootConfig({
        sandboxId: record.id,
        ...(record.envdAccessToken ? { accessToken: record.envdAccessToken } : {}),
        envVars: record.envVars,
        defaultUser: 'user',
        port: ENVD_PORT,
      }),
    };
  }

  #limits(): Pick<SandboxRecord, 'cpuCount' | 'memoryMiB' | 'diskSizeMiB'> {
    const { cpuCount, memoryMiB, diskSizeMiB } = this.o.limits;
    return { cpuCount, memoryMiB, diskSizeMiB };
  }
}
