/**
 * The template's start command (a server the template provides, e.g. the code interpreter on
 * port 49999) and its ready check. envd starts it once at boot, like any process started through
 * the Process API (it is listed, tagged `start`, and can be signalled), then polls the ready
 * command until it exits 0. The runtime hands the sandbox out only once `GET /ready` answers 204;
 * a start command that exits first, or a ready check that never passes, answers START_FAILED with
 * the reason and the tail of its output.
 */
import { execFile } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Logger, SandboxdError } from '@sandboxd/common';
import type { EnvdStartConfig } from '@sandboxd/protocol';
import type { EnvdConfig } from '../config.js';
import { commandSpec } from '../rpc/process/command-spec.js';
import { ManagedProcess, type OutputSubscriber, type ProcessOutput } from '../rpc/process/managed-process.js';
import type { ProcessTable } from '../rpc/process/process-table.js';
import { lookupUser } from '../system/users.js';

export type StartState = { state: 'starting' } | { state: 'ready' } | { state: 'failed'; reason: string };

export const START_TAG = 'start';
const OUTPUT_TAIL_BYTES = 2048;
const READY_PROBE_TIMEOUT_MS = 5_000;

export class TemplateStart {
  #state: StartState = { state: 'starting' };
  #tail = '';

  constructor(
    private readonly start: EnvdStartConfig,
    private readonly config: EnvdConfig,
    private readonly processes: ProcessTable,
    private readonly log: Logger,
  ) {}

  get status(): StartState {
    return this.#state;
  }

  /** Why `GET /ready` does not answer 204 yet, or undefined once ready. */
  readiness(): SandboxdError | undefined {
    const s = this.#state;
    if (s.state === 'ready') return undefined;
    if (s.state === 'starting') return new SandboxdError('SANDBOX_NOT_READY');
    return new SandboxdError('START_FAILED', s.reason);
  }

  /** Starts the command and watches it; never rejects (a failure becomes the `failed` state). */
  async run(): Promise<void> {
    try {
      const proc = await this.#spawn();
      let exited: string | undefined;
      proc.onEnd((exit) => {
        exited = `the start command ended (${exit.status})`;
        if (this.#state.state === 'starting') this.#fail(exited);
      });
      await this.#waitReady(() => exited);
    } catch (err) {
      this.#fail(`the start command could not be started: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  async #spawn(): Promise<ManagedProcess> {
    const { start } = this.start;
    const user = await lookupUser(start.user);
    const spec = await commandSpec(
      {
        cmd: '/bin/bash',
        args: ['-l', '-c', start.cmd],
        envs: { ...start.env },
        cwd: start.cwd,
        stdin: false,
        tag: START_TAG,
      },
      user,
      this.config,
    );
    const proc = await ManagedProcess.start(spec);
    this.processes.add(proc);
    // Always attached, so the backlog does not grow: the last bytes explain a failure.
    const tail: OutputSubscriber = {
      pendingBytes: 0,
      push: (event: ProcessOutput) => {
        if (event.kind === 'end') return;
        this.#tail = (this.#tail + Buffer.from(event.data).toString('utf8')).slice(-OUTPUT_TAIL_BYTES);
      },
    };
    proc.subscribe(tail);
    this.log.info('start command running', { pid: proc.pid, cmd: start.cmd });
    return proc;
  }

  async #waitReady(exited: () => string | undefined): Promise<void> {
    const { ready } = this.start;
    if (!ready) {
      this.#state = { state: 'ready' };
      return;
    }
    const deadline = Date.now() + ready.timeoutMs;
    for (let delayMs = 20; this.#state.state === 'starting'; delayMs = Math.min(delayMs * 2, 250)) {
      if (await this.#probe(ready.cmd)) {
        this.#state = { state: 'ready' };
        this.log.info('start command ready');
        return;
      }
      if (exited()) return;
      if (Date.now() >= deadline) {
        this.#fail(`the ready check \`${ready.cmd}\` did not pass within ${ready.timeoutMs} ms`);
        return;
      }
      await sleep(delayMs);
    }
  }

  async #probe(cmd: string): Promise<boolean> {
    const user = await lookupUser(this.start.start.user);
    const spec = await commandSpec(
      { cmd: '/bin/bash', args: ['-c', cmd], envs: {}, cwd: this.start.start.cwd, stdin: false },
      user,
      this.config,
    );
    return new Promise((resolve) => {
      execFile(spec.file, spec.argv, { cwd: spec.cwd, env: spec.env, timeout: READY_PROBE_TIMEOUT_MS }, (err) =>
        resolve(!err),
      );
    });
  }

  #fail(reason: string): void {
    const output = this.#tail.trim();
    const message = output ? `${reason}; its last output:\n${output}` : reason;
    this.#state = { state: 'failed', reason: message };
    this.log.error('start command failed', { reason: message });
  }
}
