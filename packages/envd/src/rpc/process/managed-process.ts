/**
 * One user process started by envd. Lifecycle: spawned (pid known at once) → output fanned out
 * to every subscriber → ended (exit kept, so a late Connect still learns the exit code).
 * The process leads its own process group, so a kill reaches everything it started.
 * The end is reported after the exit *and* the end of stdout/stderr, so no output is lost.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { SandboxdError } from '@sandboxd/common';
import { type ExitInfo, exitInfo } from './exit-info.js';

export type ProcessOutput = { kind: 'stdout' | 'stderr'; data: Uint8Array } | { kind: 'end'; exit: ExitInfo };

export type OutputListener = (event: ProcessOutput) => void;

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
}

export class ManagedProcess {
  readonly pid: number;
  readonly spec: ProcessSpec;
  private readonly child: ChildProcess;
  private readonly listeners = new Set<OutputListener>();
  private exitValue: ExitInfo | undefined;
  private deadline: NodeJS.Timeout | undefined;

  /** Synchronous on purpose: callers subscribe in the same tick, before any output can arrive. */
  static spawn(spec: ProcessSpec): ManagedProcess {
    const child = spawn(spec.file, spec.argv, {
      cwd: spec.cwd,
      env: spec.env,
      detached: true, // setsid(): own session and process group, killed as a group
      stdio: [spec.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    });
    if (child.pid === undefined) {
      // The 'error' event still fires on the next tick; swallow it, we report synchronously.
      child.once('error', () => {});
      throw new SandboxdError('INTERNAL', `failed to start process '${spec.request.cmd}'`);
    }
    return new ManagedProcess(child, child.pid, spec);
  }

  private constructor(child: ChildProcess, pid: number, spec: ProcessSpec) {
    this.child = child;
    this.pid = pid;
    this.spec = spec;
    // Writes after the process closed its stdin fail with EPIPE; that must not crash envd.
    child.stdin?.on('error', () => {});
    child.stdout?.on('data', (data: Buffer) => this.emit({ kind: 'stdout', data }));
    child.stderr?.on('data', (data: Buffer) => this.emit({ kind: 'stderr', data }));
    child.once('close', (code, signal) => {
      clearTimeout(this.deadline);
      this.exitValue = exitInfo(code, signal);
      this.emit({ kind: 'end', exit: this.exitValue });
      this.listeners.clear();
    });
  }

  get exit(): ExitInfo | undefined {
    return this.exitValue;
  }

  /** Adds a listener; one subscribing after the end gets the end event straight away. */
  subscribe(listener: OutputListener): () => void {
    if (this.exitValue) {
      listener({ kind: 'end', exit: this.exitValue });
      return () => {};
    }
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  writeStdin(data: Uint8Array): Promise<void> {
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

  /** Closing an already closed (or never opened) stdin does nothing, as in E2B's envd. */
  closeStdin(): void {
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
    this.deadline = setTimeout(() => this.signal('SIGKILL'), ms);
    this.deadline.unref();
  }

  private emit(event: ProcessOutput): void {
    for (const listener of this.listeners) listener(event);
  }
}
