/**
 * Test support: starts a bundled runner as a child process and drives its line protocol, the way
 * the execution server does. Not a test file itself.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { buildJsRunnerBundle } from './build.js';

export interface RunnerEventLine {
  id: number | null;
  type: string;
  text?: string;
  data?: Record<string, string>;
  name?: string;
  value?: string;
  traceback?: string[];
}

/** Builds the one-file bundle into a fresh temporary dir; `dispose` removes the dir. */
export async function buildTempBundle(): Promise<{ dir: string; file: string; dispose: () => void }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jsrun-bundle-'));
  const file = await buildJsRunnerBundle(path.join(dir, 'js-runner.mjs'));
  return { dir, file, dispose: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

export class RunnerProcess {
  readonly child: ChildProcessWithoutNullStreams;
  readonly events: RunnerEventLine[] = [];
  readonly stderr: string[] = [];
  private nextId = 1;
  private waiters: Array<() => void> = [];
  readonly exited: Promise<number | null>;

  constructor(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) {
    this.child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: 'pipe' });
    this.exited = new Promise((resolve) => this.child.on('exit', (code) => resolve(code)));
    this.child.stderr.setEncoding('utf8').on('data', (text: string) => this.stderr.push(text));
    readline.createInterface({ input: this.child.stdout }).on('line', (line) => {
      this.events.push(JSON.parse(line) as RunnerEventLine);
      for (const wake of this.waiters.splice(0)) wake();
    });
    this.child.on('exit', () => {
      for (const wake of this.waiters.splice(0)) wake();
    });
  }

  send(code: string, extra: Record<string, unknown> = {}): number {
    const id = this.nextId++;
    this.child.stdin.write(`${JSON.stringify({ id, code, ...extra })}\n`);
    return id;
  }

  sendRaw(line: string): void {
    this.child.stdin.write(`${line}\n`);
  }

  /** Resolves with the events so far once `done` holds; rejects if the runner exits first. */
  async waitFor(done: (events: RunnerEventLine[]) => boolean): Promise<RunnerEventLine[]> {
    while (!done(this.events)) {
      if (this.child.exitCode !== null || this.child.signalCode !== null) {
        throw new Error(
          `runner exited (${this.child.exitCode ?? this.child.signalCode}); stderr: ${this.stderr.join('')}`,
        );
      }
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
    return this.events;
  }

  /** All events of request `id`, once its `done` arrived. */
  async eventsOf(id: number): Promise<RunnerEventLine[]> {
    await this.waitFor((events) => events.some((event) => event.id === id && event.type === 'done'));
    return this.events.filter((event) => event.id === id);
  }

  async run(code: string, extra: Record<string, unknown> = {}): Promise<RunnerEventLine[]> {
    return this.eventsOf(this.send(code, extra));
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGKILL');
      await this.exited;
    }
  }
}

export function resultText(events: RunnerEventLine[]): string | undefined {
  return events.find((event) => event.type === 'result')?.data?.['text/plain'];
}

export function errorOf(events: RunnerEventLine[]): RunnerEventLine | undefined {
  return events.find((event) => event.type === 'error');
}
