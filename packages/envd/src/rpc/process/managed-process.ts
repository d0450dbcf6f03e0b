/**
 * One user process started by envd. Lifecycle: spawned (pid known at once) → output fanned out
 * to every subscriber, or kept in a bounded backlog while nobody is attached (replayed to the
 * next Connect) → ended (exit kept, so a late Connect still learns the exit code).
 * The process leads its own session and process group, so a kill reaches everything it started.
 * The end is reported after the exit *and* the end of its output, so no output is lost.
 *
 * Flow control: when any subscriber holds more than OUTPUT_HIGH_WATER undelivered bytes (a slow
 * client), the process's output pipes are paused, so the process blocks on write like it would
 * on a slow terminal, instead of envd buffering without bound.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import { SandboxdError } from '@sandboxd/common';
import { errnoToError } from '../../system/errno.js';
import { type ExitInfo, exitInfo } from './exit-info.js';
import { OutputBacklog, type OutputChunk } from './output-backlog.js';
import { openPty, type Pty, type PtySize } from './pty.js';

export type ProcessOutput = OutputChunk | { kind: 'end'; exit: ExitInfo };

export interface OutputSubscriber {
  push(event: ProcessOutput): void;
  /** Bytes pushed to this subscriber that its client has not taken yet. */
  readonly pendingBytes: number;
}

export interface ProcessSpec {
  /** What the client asked for, reported back by List. */
  request: { cmd: string; args: string[]; envs: Record<string, string>; cwd?: string };
  /** What is actually executed (possibly wrapped, e.g. by setpriv which execs into the command). */
  file: string;
  argv: string[];
  env: Record<string, string>;
  cwd: string;
  stdin: boolean;
  tag?: string;
  /** Run on a pseudo-terminal instead of pipes (pty.create). */
  pty?: { helper: string; size: PtySize; uid: number };
}

const OUTPUT_HIGH_WATER = 4 * 1024 * 1024;
const OUTPUT_LOW_WATER = 1024 * 1024;

export class ManagedProcess {
  readonly pid: number;
  readonly spec: ProcessSpec;
  private readonly subscribers = new Set<OutputSubscriber>();
  private readonly endListeners = new Set<(exit: ExitInfo) => void>();
  private readonly backlog = new OutputBacklog();
  private readonly sources: Readable[];
  private paused = false;
  private exitValue: ExitInfo | undefined;
  private deadline: NodeJS.Timeout | undefined;
  private deadlineAt: number | undefined;
  private deadlineKill = false;

  /**
   * Starts the process. A spawn that fails (no such program, the sandbox's process limit) answers
   * a catalog error with the reason. Output that arrives before the caller subscribes waits in
   * the backlog, so nothing is lost between here and `subscribe`.
   */
  static async start(spec: ProcessSpec): Promise<ManagedProcess> {
    const { child, pty } = spec.pty
      ? openPty(spec.pty.helper, spec.pty.size, spec.pty.uid, spec)
      : {
          child: spawn(spec.file, spec.argv, {
            cwd: spec.cwd,
            env: spec.env,
            detached: true, // setsid(): own session and process group, killed as a group
            stdio: [spec.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
          }),
          pty: undefined,
        };
    if (child.pid === undefined) {
      pty?.close();
      // Node reports why on the next tick, as an 'error' event.
      const err = await new Promise<NodeJS.ErrnoException>((resolve) => child.once('error', resolve));
      throw spawnError(err, spec.request.cmd);
    }
    return new ManagedProcess(child, spec, pty);
  }

  private constructor(
    private readonly child: ChildProcess,
    spec: ProcessSpec,
    private readonly pty: Pty | undefined,
  ) {
    this.pid = child.pid as number; // checked by start()
    this.spec = spec;
    // Writes after the process closed its stdin fail with EPIPE; that must not crash envd.
    child.stdin?.on('error', () => {});
    if (pty) {
      this.sources = [pty.master];
      pty.master.on('data', (data: Buffer) => this.emitChunk({ kind: 'pty', data }));
      child.once('exit', (code, signal) => {
        // The terminal may still hold output the process wrote just before exiting.
        void pty.drained().then(() => this.end(code, signal));
      });
    } else {
      this.sources = [child.stdout, child.stderr].filter((s): s is Readable => s !== null);
      child.stdout?.on('data', (data: Buffer) => this.emitChunk({ kind: 'stdout', data }));
      child.stderr?.on('data', (data: Buffer) => this.emitChunk({ kind: 'stderr', data }));
      child.once('close', (code, signal) => this.end(code, signal));
    }
  }

  get exit(): ExitInfo | undefined {
    return this.exitValue;
  }

  /**
   * Attaches a client: it first gets what nobody received yet (the backlog), then live output,
   * then the end. Subscribing after the end replays the backlog and the end straight away.
   * The returned detach puts what the client never took back into the backlog.
   */
  subscribe(subscriber: OutputSubscriber): (untaken?: ProcessOutput[]) => void {
    for (const chunk of this.backlog.take()) subscriber.push(chunk);
    if (this.exitValue) {
      subscriber.push({ kind: 'end', exit: this.exitValue });
      return () => {};
    }
    this.subscribers.add(subscriber);
    return (untaken = []) => {
      if (!this.subscribers.delete(subscriber)) return;
      if (this.subscribers.size === 0) {
        this.backlog.prepend(untaken.filter((e): e is OutputChunk => e.kind !== 'end'));
      }
      this.relieve();
    };
  }

  /** For the process table: learns about the end without counting as an attached client. */
  onEnd(listener: (exit: ExitInfo) => void): void {
    if (this.exitValue) listener(this.exitValue);
    else this.endListeners.add(listener);
  }

  /** A subscriber took output: resume a paused process once every client has caught up. */
  relieve(): void {
    if (!this.paused) return;
    for (const subscriber of this.subscribers) if (subscriber.pendingBytes > OUTPUT_LOW_WATER) return;
    this.paused = false;
    for (const source of this.sources) source.resume();
  }

  writeStdin(data: Uint8Array): Promise<void> {
    if (this.pty) return Promise.reject(new SandboxdError('INVALID_REQUEST', `process ${this.pid} is a pty`));
    const stdin = this.child.stdin;
    if (!stdin?.writable) {
      return Promise.reject(new SandboxdError('INVALID_REQUEST', `stdin of process ${this.pid} is not open`));
    }
    return new Promise((resolve, reject) => {
      stdin.write(data, (err) => {
        if (err) reject(new SandboxdError('INVALID_REQUEST', `writing stdin of ${this.pid} failed`, { cause: err }));
        else resolve();
      });
    });
  }

  writePty(data: Uint8Array): Promise<void> {
    if (!this.pty) return Promise.reject(new SandboxdError('INVALID_REQUEST', `process ${this.pid} has no pty`));
    return this.pty.write(data);
  }

  resize(size: PtySize): Promise<void> {
    if (!this.pty) return Promise.reject(new SandboxdError('INVALID_REQUEST', `process ${this.pid} has no pty`));
    return this.pty.resize(size);
  }

  /** Closing an already closed (or never opened) stdin does nothing, as in E2B's envd. */
  closeStdin(): void {
    if (this.pty) throw new SandboxdError('INVALID_REQUEST', `process ${this.pid} is a pty: send EOT (^D) instead`);
    this.child.stdin?.end();
  }

  /** Signals the whole process group, so grandchildren (`sleep &` under bash) go too. */
  signal(signal: NodeJS.Signals): void {
    if (this.exitValue) return;
    try {
      process.kill(-this.pid, signal);
    } catch {
      // The leader may have left its group (setsid in the command); signal it directly.
      try {
        process.kill(this.pid, signal);
      } catch {
        // Already gone: the close event will report how it ended.
      }
    }
  }

  /** The request's deadline (Connect-Timeout-Ms) is the process's lifetime, as in E2B's envd. */
  killAfter(ms: number): void {
    clearTimeout(this.deadline);
    this.deadlineAt = Date.now() + ms;
    this.deadline = setTimeout(() => this.killAtDeadline(), ms);
    this.deadline.unref();
  }

  /**
   * The client went away: if its deadline is at most `withinMs` off, it gave up because of that
   * deadline, so the deadline has passed for this process too. E2B's SDKs arm a client-side timer
   * of the same length as `Connect-Timeout-Ms` and it starts first, so its abort can arrive a few
   * milliseconds before our own timer fires; a client that disconnects earlier leaves the process
   * running, as a deliberate disconnect must.
   */
  expireDeadlineIfWithin(withinMs: number): void {
    if (this.deadlineAt !== undefined && this.deadlineAt - Date.now() <= withinMs) this.killAtDeadline();
  }

  private killAtDeadline(): void {
    clearTimeout(this.deadline);
    if (this.exitValue || this.deadlineKill) return;
    this.deadlineKill = true;
    this.signal('SIGKILL');
  }

  /** Whether the process ended because its deadline killed it. */
  get killedAtDeadline(): boolean {
    return this.deadlineKill;
  }

  private emitChunk(chunk: OutputChunk): void {
    if (this.subscribers.size === 0) {
      this.backlog.append(chunk);
      return;
    }
    let behind = false;
    for (const subscriber of this.subscribers) {
      subscriber.push(chunk);
      if (subscriber.pendingBytes > OUTPUT_HIGH_WATER) behind = true;
    }
    if (behind && !this.paused) {
      this.paused = true;
      for (const source of this.sources) source.pause();
    }
  }

  private end(code: number | null, signal: NodeJS.Signals | null): void {
    if (this.exitValue) return;
    clearTimeout(this.deadline);
    this.pty?.close();
    this.exitValue = exitInfo(code, signal);
    for (const subscriber of this.subscribers) subscriber.push({ kind: 'end', exit: this.exitValue });
    this.subscribers.clear();
    for (const listener of this.endListeners) listener(this.exitValue);
    this.endListeners.clear();
  }
}

function spawnError(err: NodeJS.ErrnoException, cmd: string): SandboxdError {
  if (err.code === 'EAGAIN' || err.code === 'ENOMEM') {
    return new SandboxdError('CAPACITY_EXHAUSTED', `cannot start '${cmd}': the sandbox's process limit is reached`, {
      cause: err,
    });
  }
  if (err.code === 'ENOENT' || err.code === 'EACCES' || err.code === 'ENOEXEC') {
    return new SandboxdError('INVALID_REQUEST', `cannot start '${cmd}': not found or not executable`, { cause: err });
  }
  return errnoToError(err, cmd);
}
