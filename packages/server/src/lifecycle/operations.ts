import { type Logger, SandboxdError } from '@sandboxd/common';
import type { SandboxLimits, SandboxRuntime } from '@sandboxd/runtime';
import type { SandboxEvent, SandboxRecord, Store, Team } from '../store/store.js';
import { admitPause, deadlineFor } from './admission.js';
import { envdBootEnv } from './envd-boot.js';
import { type HostStorage, MiB } from './host-storage.js';
import type { StateWriter } from './state-writer.js';

export interface LifecycleHooks {
  /** How late (ms after endAt) an expired sandbox stopped serving. */
  expired?(latenessMs: number): void;
  paused?(ms: number, memory: boolean): void;
  resumed?(ms: number): void;
  /** A runtime create finished: how long it took and whether it restored a ready snapshot. */
  created?(ms: number, from: 'snapshot' | 'cold'): void;
}

export interface OperationsDeps {
  store: Store;
  runtime: SandboxRuntime;
  clock: { now(): number };
  logger: Logger;
  limits: SandboxLimits;
  writer: StateWriter;
  /** A place against the team's concurrent limit; returns its release. */
  admit: (team: Team) => () => void;
  /** Admission against the host's free space; none: no check (tests of other logic). */
  storage?: HostStorage | undefined;
  hooks?: LifecycleHooks | undefined;
  /** A teardown could not finish (KILL_INCOMPLETE): the server tries it again later by itself. */
  onKillIncomplete?: (sandboxId: string, cause: Cause, detail?: string) => void;
}

/** Beyond the cgroup's memory use, what a CRIU dump may write (its metadata, page maps, logs). */
const pauseImageMarginBytes = 64 * MiB;

type Cause = SandboxEvent['cause'];

/**
 * The runtime side of each move: intent is written (through the StateWriter) before the side
 * effect and the result after it, so reconcile can finish or undo what a crash interrupted. The
 * caller holds the sandbox's queue and has read `record` inside it.
 */
export class SandboxOperations {
  constructor(private readonly d: OperationsDeps) {}

  /** creating → running; on failure creating → killed and a typed error. */
  async startCold(team: Team, record: SandboxRecord): Promise<SandboxRecord> {
    try {
      const t0 = performance.now();
      const endpoint = await this.d.runtime.create({
        sandboxId: record.id,
        templateId: record.templateId,
        limits: this.d.limits,
        envdEnv: envdBootEnv(record),
      });
      this.d.hooks?.created?.(performance.now() - t0, endpoint.from ?? 'cold');
      // The deadline counts from the moment the sandbox is usable, not from the request.
      const endAt = deadlineFor(team, record.runtimeStartedAt, record.timeoutSeconds, this.d.clock.now());
      return this.d.writer.apply(record, 'start', { cause: 'user', endpoint, patch: { endAt } });
    } catch (err) {
      this.d.logger.error('sandbox create failed', { sandboxId: record.id, teamId: team.id, err });
      const detail = err instanceof Error ? err.message : String(err);
      this.d.writer.apply(record, 'fail-create', { cause: 'error', detail });
      if (SandboxdError.is(err)) throw err;
      throw new SandboxdError('RUNTIME_FAILED', 'failed to start the sandbox', { cause: err });
    }
  }

  /**
   * running → pausing → paused. A failed dump leaves the sandbox running and routed again
   * (pausing → running); a sandbox left in any other shape cannot be trusted and is killed.
   */
  async pause(record: SandboxRecord, memory: boolean, cause: Cause): Promise<void> {
    const releaseStorage = await this.#admitPauseStorage(record, memory);
    try {
      await this.#pause(record, memory, cause);
    } finally {
      releaseStorage(); // the images are on disk (statfs counts them) or were removed
    }
  }

  /**
   * A memory pause writes about the sandbox's anonymous and shared memory in CRIU images (not its
   * page cache): that much (plus a margin; the cgroup's whole use, or the memory limit, when that
   * is unknown) must fit in the host's free space less its reserve,
   * or the pause is refused (507) before the sandbox is touched. A disk-only pause writes nothing
   * new (its disk is there already) and frees memory, so it is never refused for space.
   */
  async #admitPauseStorage(record: SandboxRecord, memory: boolean): Promise<() => void> {
    if (!memory || !this.d.storage) return () => {};
    const stats = await this.d.runtime.stats(record.id).catch(() => undefined);
    const need = (stats?.anonBytes ?? stats?.memoryBytes ?? record.memoryMiB * MiB) + pauseImageMarginBytes;
    return this.d.storage.admitWrite(need, `a memory pause of sandbox ${record.id}`);
  }

  async #pause(record: SandboxRecord, memory: boolean, cause: Cause): Promise<void> {
    const sandboxId = record.id;
    const kept = memory ? 'memory and disk' : 'disk only';
    const team = this.d.store.getTeam(record.teamId);
    // Checked and written in one synchronous step: the `pausing` row counts itself at once.
    if (team) admitPause(team, this.d.store.teamUsage(team.id));
    // Unrouted by the move: open streams are dropped and new requests get 502 (or wake it, with
    // autoResume, once the pause is done) while CRIU dumps.
    const pausing = this.d.writer.apply(record, 'pause', { cause, detail: kept });
    const started = performance.now();
    let imageBytes: number;
    try {
      imageBytes = (await this.d.runtime.pause(sandboxId, { memory })).imageBytes;
    } catch (err) {
      this.d.logger.error('sandbox pause failed', { sandboxId, err });
      const left = (await this.d.runtime.list().catch(() => [])).find((s) => s.sandboxId === sandboxId);
      if (left?.status !== 'running') {
        await this.kill(pausing, 'error', 'the pause failed and left the sandbox unusable');
        throw new SandboxdError('RUNTIME_FAILED', 'failed to pause the sandbox', { cause: err });
      }
      this.d.writer.apply(pausing, 'fail-pause', {
        cause: 'error',
        endpoint: left,
        detail: 'the pause failed; the sandbox runs on',
      });
      // A refused pause (the sandbox would not freeze) is the client's to retry: 503 with Retry-After.
      if (SandboxdError.is(err) && err.code === 'PAUSE_REFUSED') throw err;
      throw new SandboxdError('RUNTIME_FAILED', 'failed to pause the sandbox', { cause: err });
    }
    const ms = performance.now() - started;
    this.d.writer.apply(pausing, 'finish-pause', {
      cause,
      patch: { pausedAt: this.d.clock.now(), pausedMemory: memory },
      detail: `${kept}, ${imageBytes} bytes`,
    });
    this.d.hooks?.paused?.(ms, memory);
    this.d.logger.info('sandbox paused', { sandboxId, memory, ms: Math.round(ms), imageBytes });
  }

  /**
   * paused → resuming → running, with a new run: the runtime window and the deadline start now.
   * On failure the sandbox stays paused (resuming → paused).
   */
  async resume(
    team: Team,
    record: SandboxRecord,
    timeoutSeconds: number,
    memory: boolean | undefined,
    cause: Cause,
  ): Promise<SandboxRecord> {
    const sandboxId = record.id;
    const release = this.d.admit(team);
    let resuming: SandboxRecord;
    try {
      resuming = this.d.writer.apply(record, 'resume', { cause });
    } finally {
      release(); // the `resuming` row counts itself
    }
    const started = performance.now();
    try {
      // A fresh boot (disk-only pause, or memory: false) starts envd from its boot config again.
      const endpoint = await this.d.runtime.resume(sandboxId, {
        ...(memory === false ? { memory: false } : {}),
        envdEnv: envdBootEnv(record),
      });
      const now = this.d.clock.now();
      const running = this.d.writer.apply(resuming, 'finish-resume', {
        cause,
        endpoint,
        patch: {
          runtimeStartedAt: now,
          endAt: deadlineFor(team, now, timeoutSeconds, now),
          pausedAt: null,
          pausedMemory: null,
        },
      });
      const ms = performance.now() - started;
      this.d.hooks?.resumed?.(ms);
      this.d.logger.info('sandbox resumed', { sandboxId, ms: Math.round(ms) });
      return running;
    } catch (err) {
      this.d.logger.error('sandbox resume failed', { sandboxId, err });
      this.d.writer.apply(resuming, 'fail-resume', {
        cause: 'error',
        detail: 'the resume failed; the sandbox stays paused',
      });
      if (SandboxdError.is(err) && err.code !== 'RUNTIME_FAILED') throw err;
      throw new SandboxdError('RUNTIME_FAILED', 'failed to resume the sandbox; it stays paused with its state', {
        cause: err,
      });
    }
  }

  /**
   * → killing → killed. The route goes first: the proxy answers 502 and drops open streams. A
   * teardown that could not finish leaves the row `killing`: a second kill (killing → killing)
   * runs the teardown again, and the next start-up's sweep finishes it otherwise.
   */
  /** A graceful close: SIGTERM and up to `graceMs` for a running sandbox's processes, then the kill. */
  async close(record: SandboxRecord, graceMs: number): Promise<void> {
    if (record.state === 'running' && graceMs > 0) {
      const result = await this.d.runtime.terminate(record.id, graceMs).catch((err: unknown) => {
        this.d.logger.warn('graceful close: signalling processes failed', { sandboxId: record.id, err });
      });
      if (result) this.d.logger.info('graceful close', { sandboxId: record.id, graceMs, ...result });
    }
    // The queue held the sandbox meanwhile: the row is as it was.
    await this.kill(record, 'user', 'closed');
  }

  async kill(record: SandboxRecord, cause: Cause, detail?: string): Promise<void> {
    const killing = this.d.writer.apply(record, 'kill', { cause, detail });
    try {
      await this.d.runtime.kill(record.id);
    } catch (err) {
      this.d.logger.error('sandbox kill failed', { sandboxId: record.id, err });
      // The client's to retry: 503 with Retry-After; the host's details (mount paths) stay in the log.
      if (SandboxdError.is(err) && err.code === 'KILL_INCOMPLETE') {
        this.d.onKillIncomplete?.(record.id, cause, detail);
        throw new SandboxdError('KILL_INCOMPLETE', undefined, {
          cause: err,
          retryAfterSeconds: err.retryAfterSeconds ?? 1,
        });
      }
      throw new SandboxdError('RUNTIME_FAILED', 'failed to kill the sandbox', { cause: err });
    }
    this.d.writer.apply(killing, 'finish-kill', { cause, detail });
  }
}
