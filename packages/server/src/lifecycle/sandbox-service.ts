import { type Clock, type Logger, newSandboxId, randomToken, SandboxdError } from '@sandboxd/common';
import {
  ENVD_CONFIG_ENV,
  ENVD_PORT,
  ENVD_VERSION,
  type EnvdInitRequest,
  encodeEnvdBootConfig,
  INIT_TOKEN_HEADER,
} from '@sandboxd/protocol';
import type { SandboxEndpoint, SandboxLimits, SandboxRuntime } from '@sandboxd/runtime';
import type {
  EventFilter,
  ListSandboxesQuery,
  SandboxEvent,
  SandboxRecord,
  SandboxState,
  Store,
  StoredEvent,
  Team,
} from '../store/store.js';
import { DeadlineScheduler } from './deadline-scheduler.js';
import { EventHub } from './event-hub.js';
import { SerialQueue } from './serial-queue.js';
import { assertTransition, visibleStates } from './transitions.js';
import type { WarmPool } from './warm-pool.js';

export interface CreateSandboxCommand {
  templateId: string;
  timeoutSeconds: number;
  metadata: Record<string, string>;
  envVars: Record<string, string>;
  secure: boolean;
  allowInternetAccess: boolean;
  autoPause: boolean;
  autoResume: boolean;
}

/** Where a running sandbox's envd can be reached; the proxy's routing table. */
export interface SandboxRoute {
  sandboxId: string;
  address: string;
  envdPort: number;
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
  /** Called with how late (ms after endAt) each expired sandbox stopped serving. */
  onExpired?: (latenessMs: number) => void;
}

/** Builds the next metadata from the current one; throws INVALID_REQUEST when the result is invalid. */
export type MetadataUpdate = (current: Record<string, string>) => Record<string, string>;

type StopListener = (sandboxId: string) => void;

/**
 * Owns every sandbox's life: the state machine, the per-sandbox queue, deadlines, and the routing
 * table the proxy reads. Intent is written to the store before a side effect and the result after
 * it, so `reconcile()` at start-up can finish or undo whatever a crash interrupted.
 */
export class SandboxService {
  readonly #queue = new SerialQueue();
  readonly #routes = new Map<string, SandboxRoute>();
  readonly #stopListeners = new Set<StopListener>();
  readonly #scheduler: DeadlineScheduler;
  readonly #events = new EventHub();
  /** Creates admitted but not yet in the store, per team: they count against the concurrent limit. */
  readonly #admitting = new Map<string, number>();

  constructor(private readonly o: SandboxServiceOptions) {
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
  onStop(listener: StopListener): () => void {
    this.#stopListeners.add(listener);
    return () => this.#stopListeners.delete(listener);
  }

  async create(team: Team, cmd: CreateSandboxCommand): Promise<SandboxRecord> {
    if (!(await this.o.templateExists(cmd.templateId))) {
      throw new SandboxdError('TEMPLATE_NOT_FOUND', `template '${cmd.templateId}' not found`);
    }
    const release = this.#admit(team);
    try {
      const envdAccessToken = cmd.secure ? randomToken(24) : null;
      const warm = await this.#claimWarm(cmd, envdAccessToken);
      const record = this.#newRecord(team, cmd, warm?.sandboxId ?? newSandboxId(), envdAccessToken);
      if (warm) {
        // Handed over already: the sandbox is serving under its owner's token.
        const running: SandboxRecord = { ...record, state: 'running', address: warm.address, envdPort: warm.envdPort };
        this.o.store.insertSandbox(running);
        this.#event(running, 'created', 'user', 'from the warm pool');
        this.#serve(running, warm, true);
        return running;
      }
      this.o.store.insertSandbox(record);
      this.#event(record, 'created', 'user');
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
      autoResume: cmd.autoResume,
      startedAt: now,
      runtimeStartedAt: now,
      endAt: now,
      address: null,
      envdPort: null,
    };
    return { ...record, endAt: this.#deadline(team, record, cmd.timeoutSeconds) };
  }

  async #startCold(team: Team, cmd: CreateSandboxCommand, record: SandboxRecord): Promise<SandboxRecord> {
    const log = this.o.logger.child({ sandboxId: record.id, teamId: team.id });
    try {
      const endpoint = await this.o.runtime.create({
        sandboxId: record.id,
        templateId: record.templateId,
        limits: this.o.limits,
        envdEnv: {
          [ENVD_CONFIG_ENV]: encodeEnvdBootConfig({
            sandboxId: record.id,
            ...(record.envdAccessToken ? { accessToken: record.envdAccessToken } : {}),
            envVars: record.envVars,
            defaultUser: 'user',
            port: ENVD_PORT,
          }),
        },
      });
      // The deadline counts from the moment the sandbox is usable, not from the request.
      const running: SandboxRecord = {
        ...record,
        state: 'running',
        endAt: this.#deadline(team, record, cmd.timeoutSeconds),
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
      this.#event(record, 'killed', 'error', err instanceof Error ? err.message : String(err));
      if (SandboxdError.is(err)) throw err;
      throw new SandboxdError('RUNTIME_FAILED', 'failed to start the sandbox', { cause: err });
    }
  }

  /**
   * Checks the team's concurrent limit and holds a place until the row is in the store, so that
   * parallel creates cannot all pass the check. Returns the release of that place.
   */
  #admit(team: Team): () => void {
    const admitting = this.#admitting.get(team.id) ?? 0;
    if (this.o.store.countActiveSandboxes(team.id) + admitting >= team.maxConcurrentSandboxes) {
      throw new SandboxdError(
        'CAPACITY_EXHAUSTED',
        `team has reached its limit of ${team.maxConcurrentSandboxes} concurrent sandboxes`,
        { retryAfterSeconds: 1 },
      );
    }
    this.#admitting.set(team.id, admitting + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.#admitting.get(team.id) ?? 1) - 1;
      if (left > 0) this.#admitting.set(team.id, left);
      else this.#admitting.delete(team.id);
    };
  }

  /**
   * now + timeout, clamped to the team's longest continuous run counted from the start of this
   * run (E2B: 1 h on Base, 24 h on Pro; pausing and resuming starts a new run).
   */
  #deadline(team: Team, record: Pick<SandboxRecord, 'runtimeStartedAt'>, timeoutSeconds: number): number {
    const wanted = this.o.clock.now() + timeoutSeconds * 1000;
    return Math.min(wanted, record.runtimeStartedAt + team.maxRuntimeSeconds * 1000);
  }

  /**
   * Takes a pre-started sandbox and hands it over (envd `POST /init`). Any failure kills that
   * sandbox and falls back to a cold start: the pool is an accelerator, never a point of failure.
   */
  async #claimWarm(cmd: CreateSandboxCommand, accessToken: string | null): Promise<SandboxEndpoint | undefined> {
    const pool = this.o.pool;
    if (!pool || cmd.templateId !== pool.templateId) return undefined;
    const pooled = pool.take();
    if (!pooled) return undefined;
    const { endpoint } = pooled;
    try {
      const body: EnvdInitRequest = { envVars: cmd.envVars, ...(accessToken ? { accessToken } : {}) };
      const res = await fetch(`http://${endpoint.address}:${endpoint.envdPort}/init`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', [INIT_TOKEN_HEADER]: pooled.initToken },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(5_000),
      });
      if (res.status !== 204) throw new Error(`envd /init answered ${res.status}`);
      return endpoint;
    } catch (err) {
      this.o.logger.warn('warm sandbox hand-over failed; starting cold', { sandboxId: endpoint.sandboxId, err });
      void this.o.runtime.kill(endpoint.sandboxId).catch(() => {});
      return undefined;
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
      const endAt = this.#deadline(team, record, timeoutSeconds);
      this.o.store.updateSandbox(sandboxId, { endAt });
      this.#event(record, 'timeout-set', 'user', new Date(endAt).toISOString());
      this.#scheduler.reschedule();
    });
  }

  /** Connect: a running sandbox keeps the later of its deadline and now + timeout (never shortened). */
  async connect(team: Team, sandboxId: string, timeoutSeconds: number): Promise<{ record: SandboxRecord }> {
    this.get(team, sandboxId);
    return this.#queue.run(sandboxId, async () => {
      // Paused sandboxes cannot be resumed yet (issue #5): INVALID_TRANSITION until then.
      const record = this.#requireState(sandboxId, ['running']);
      const endAt = Math.max(record.endAt, this.#deadline(team, record, timeoutSeconds));
      if (endAt !== record.endAt) {
        this.o.store.updateSandbox(sandboxId, { endAt });
        this.#scheduler.reschedule();
      }
      return { record: { ...record, endAt } };
    });
  }

  /** Replaces the metadata with what `update` makes of it; works while running or paused. */
  async updateMetadata(team: Team, sandboxId: string, update: MetadataUpdate): Promise<SandboxRecord> {
    this.get(team, sandboxId);
    return this.#queue.run(sandboxId, async () => {
      const record = this.get(team, sandboxId);
      const metadata = update(record.metadata);
      this.o.store.updateSandbox(sandboxId, { metadata });
      this.#event(record, 'metadata-updated', 'user');
      return { ...record, metadata };
    });
  }

  /** Recorded lifecycle events of a team, oldest first (see Store.listEvents). */
  listEvents(team: Team, filter: Omit<EventFilter, 'teamId'>): StoredEvent[] {
    return this.o.store.listEvents({ ...filter, teamId: team.id });
  }

  /** One sandbox's recorded events, also after it was killed; 404 for another team's or unknown id. */
  history(team: Team, sandboxId: string, filter: Omit<EventFilter, 'teamId' | 'sandboxId'>): StoredEvent[] {
    const record = this.o.store.getSandbox(sandboxId);
    if (!record || record.teamId !== team.id) {
      throw new SandboxdError('SANDBOX_NOT_FOUND', `sandbox ${sandboxId} not found`);
    }
    return this.listEvents(team, { ...filter, sandboxId });
  }

  /**
   * Live lifecycle events of one team, each delivered once it is recorded. `onClose` runs when the
   * server shuts down. Returns the unsubscribe.
   */
  subscribeEvents(team: Team, listener: (event: StoredEvent) => void, onClose: () => void): () => void {
    if (this.#events.closed) {
      queueMicrotask(onClose);
      return () => {};
    }
    return this.#events.subscribe(team.id, listener, onClose);
  }

  /**
   * Start-up: re-adopt sandboxes the runtime still runs and the store knows as running; mark rows
   * whose sandbox vanished as killed; finish interrupted transitions; sweep everything else.
   */
  async reconcile(): Promise<{ adopted: string[]; lost: string[]; swept: string[] }> {
    const live = new Map((await this.o.runtime.list()).map((s) => [s.sandboxId, s]));
    const adopted: string[] = [];
    const lost: string[] = [];
    for (const record of this.o.store.sandboxesInStates(['creating', 'running', 'killing', 'pausing', 'resuming'])) {
      const sandbox = live.get(record.id);
      if (record.state === 'running' && sandbox?.status === 'running') {
        this.#routes.set(record.id, { sandboxId: record.id, address: sandbox.address, envdPort: sandbox.envdPort });
        adopted.push(record.id);
        continue;
      }
      this.o.store.updateSandbox(record.id, { state: 'killed' });
      this.#event(record, 'killed', 'system', 'not running after a restart of the server');
      lost.push(record.id);
    }
    const swept = await this.o.runtime.sweep(new Set(adopted));
    this.#scheduler.reschedule();
    return { adopted, lost, swept };
  }

  /** Stop the scheduler and let in-flight operations finish; sandboxes keep running. */
  /** Ends every live event stream (first step of a shutdown: they would hold the HTTP server open). */
  closeEventStreams(): void {
    this.#events.close();
  }

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
      this.o.onExpired?.(now - record.endAt);
      await this.#kill(sandboxId, 'timeout');
    });
  }

  async #kill(sandboxId: string, cause: SandboxEvent['cause']): Promise<void> {
    const record = this.o.store.getSandbox(sandboxId);
    if (!record || record.state === 'killed') return;
    assertTransition(sandboxId, record.state, 'killing');
    this.o.store.updateSandbox(sandboxId, { state: 'killing' });
    // Stop routing first: from here on the proxy answers 502 and open streams are dropped.
    this.#routes.delete(sandboxId);
    for (const listener of this.#stopListeners) listener(sandboxId);
    try {
      await this.o.runtime.kill(sandboxId);
    } catch (err) {
      // The row stays `killing`; the next start-up sweep finishes the job.
      this.o.logger.error('sandbox kill failed', { sandboxId, err });
      throw new SandboxdError('RUNTIME_FAILED', 'failed to kill the sandbox', { cause: err });
    }
    this.o.store.updateSandbox(sandboxId, { state: 'killed' });
    this.#event(record, 'killed', cause);
    this.#scheduler.reschedule();
  }

  /** The sandbox is running and stored as such: route it, record it, and watch its deadline. */
  #serve(running: SandboxRecord, endpoint: SandboxEndpoint, warm: boolean): void {
    this.#routes.set(running.id, { sandboxId: running.id, address: endpoint.address, envdPort: endpoint.envdPort });
    this.#event(running, 'running', 'user');
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

  #limits(): Pick<SandboxRecord, 'cpuCount' | 'memoryMiB' | 'diskSizeMiB'> {
    const { cpuCount, memoryMiB, diskSizeMiB } = this.o.limits;
    return { cpuCount, memoryMiB, diskSizeMiB };
  }

  /** Records a lifecycle event, then tells live subscribers (they see it with its seq). */
  #event(record: SandboxRecord, type: string, cause: SandboxEvent['cause'], detail?: string): void {
    const event: SandboxEvent = {
      sandboxId: record.id,
      teamId: record.teamId,
      time: this.o.clock.now(),
      type,
      cause,
      ...(detail === undefined ? {} : { detail }),
    };
    const seq = this.o.store.recordEvent(event);
    this.#events.publish({ ...event, seq });
  }
}
