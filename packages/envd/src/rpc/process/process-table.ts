/**
 * The processes envd started, by pid and by tag. Ended processes stay findable for Connect (a
 * late client learns the exit code), bounded so a busy sandbox does not grow envd's memory; they
 * are not listed and cannot be signalled or written to.
 */
import { SandboxdError } from '@sandboxd/common';
import type { ManagedProcess } from './managed-process.js';

export type ProcessSelector = { case: 'pid'; value: number } | { case: 'tag'; value: string } | { case: undefined };

const ENDED_KEPT = 256;

export class ProcessTable {
  private readonly running = new Map<number, ManagedProcess>();
  private readonly ended = new Map<number, ManagedProcess>();

  add(proc: ManagedProcess): void {
    this.ended.delete(proc.pid);
    this.running.set(proc.pid, proc);
    proc.onEnd(() => {
      this.running.delete(proc.pid);
      this.ended.set(proc.pid, proc);
      if (this.ended.size > ENDED_KEPT) {
        const oldest = this.ended.keys().next().value;
        if (oldest !== undefined) this.ended.delete(oldest);
      }
    });
  }

  list(): ManagedProcess[] {
    return [...this.running.values()];
  }

  /** A running process, for input, signals and resizes. */
  findRunning(selector: ProcessSelector | undefined): ManagedProcess {
    return this.find(selector, [this.running]);
  }

  /** A running or recently ended process, for Connect. */
  findAny(selector: ProcessSelector | undefined): ManagedProcess {
    return this.find(selector, [this.running, this.ended]);
  }

  private find(selector: ProcessSelector | undefined, maps: Map<number, ManagedProcess>[]): ManagedProcess {
    if (selector?.case === 'pid') {
      for (const map of maps) {
        const proc = map.get(selector.value);
        if (proc) return proc;
      }
      throw new SandboxdError('PROCESS_NOT_FOUND', `process with pid ${selector.value} not found`);
    }
    if (selector?.case === 'tag') {
      for (const map of maps) {
        for (const proc of map.values()) if (proc.spec.tag === selector.value) return proc;
      }
      throw new SandboxdError('PROCESS_NOT_FOUND', `process with tag ${selector.value} not found`);
    }
    throw new SandboxdError('INVALID_REQUEST', 'a process selector (pid or tag) is required');
  }

  /** On envd shutdown: user processes do not outlive the agent that owns them. */
  killAll(): void {
    for (const proc of this.running.values()) proc.signal('SIGKILL');
  }
}
