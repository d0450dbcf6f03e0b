/**
 * `process.Process`: parse → look up user/process → act. Errors are SandboxdErrors that the RPC
 * interceptor maps to Connect codes.
 */
import type { ServiceImpl } from '@connectrpc/connect';
import { SandboxdError } from '@sandboxd/common';
import { type Process, Signal } from '@sandboxd/protocol';
import type { EnvdConfig } from '../../config.js';
import { keepaliveIntervalMs } from '../event-queue.js';
import { userFromAuthorization } from '../request-user.js';
import { commandSpec } from './command-spec.js';
import { ManagedProcess } from './managed-process.js';
import { processEvents, subscribeOutput } from './process-stream.js';
import type { ProcessTable } from './process-table.js';
import { validPtySize } from './pty.js';

/** How far before its deadline a Start stream's client may give up and still mean the deadline. */
const CLIENT_DEADLINE_SLACK_MS = 500;

const signals: Partial<Record<Signal, NodeJS.Signals>> = {
  [Signal.SIGKILL]: 'SIGKILL',
  [Signal.SIGTERM]: 'SIGTERM',
};

export function processService(config: EnvdConfig, table: ProcessTable): Partial<ServiceImpl<typeof Process>> {
  return {
    async *start(req, ctx) {
      const ptySize = req.pty ? validPtySize(req.pty.size) : undefined;
      const user = await userFromAuthorization(ctx.requestHeader.get('authorization'), config.defaultUser);
      const spec = await commandSpec(
        {
          cmd: req.process?.cmd ?? '',
          args: req.process?.args ?? [],
          envs: req.process?.envs ?? {},
          ...(req.process?.cwd !== undefined ? { cwd: req.process.cwd } : {}),
          // Unset means an open stdin pipe: older SDKs relied on it (E2B's envd does the same).
          stdin: req.stdin ?? true,
          ...(req.tag !== undefined ? { tag: req.tag } : {}),
          ...(ptySize ? { pty: { helper: config.envdHelper, size: ptySize } } : {}),
        },
        user,
        config,
      );
      const proc = await ManagedProcess.start(spec);
      const subscription = subscribeOutput(proc);
      table.add(proc);
      const timeoutMs = ctx.timeoutMs();
      if (timeoutMs !== undefined && timeoutMs > 0) {
        proc.killAfter(timeoutMs);
        ctx.signal.addEventListener('abort', () => proc.expireDeadlineIfWithin(CLIENT_DEADLINE_SLACK_MS), {
          once: true,
        });
      }
      yield* processEvents(proc, subscription, {
        signal: ctx.signal,
        keepaliveMs: keepaliveIntervalMs(ctx.requestHeader.get('keepalive-ping-interval')),
        ownsProcessDeadline: true,
      });
    },

    async *connect(req, ctx) {
      const proc = table.findAny(req.process?.selector);
      const subscription = subscribeOutput(proc);
      yield* processEvents(proc, subscription, {
        signal: ctx.signal,
        keepaliveMs: keepaliveIntervalMs(ctx.requestHeader.get('keepalive-ping-interval')),
        ownsProcessDeadline: false,
      });
    },

    list() {
      return {
        processes: table.list().map((proc) => ({
          pid: proc.pid,
          config: proc.spec.request,
          ...(proc.spec.tag !== undefined ? { tag: proc.spec.tag } : {}),
        })),
      };
    },

    async sendInput(req) {
      const proc = table.findRunning(req.process?.selector);
      await writeInput(proc, req.input?.input);
      return {};
    },

    async streamInput(requests) {
      let proc: ManagedProcess | undefined;
      for await (const req of requests) {
        const event = req.event;
        if (event.case === 'start') proc = table.findRunning(event.value.process?.selector);
        if (event.case !== 'data') continue;
        if (!proc) throw new SandboxdError('INVALID_REQUEST', 'the first StreamInput message must be start');
        await writeInput(proc, event.value.input?.input);
      }
      return {};
    },

    sendSignal(req) {
      const proc = table.findRunning(req.process?.selector);
      const signal = signals[req.signal];
      if (!signal) throw new SandboxdError('INVALID_REQUEST', `unsupported signal ${req.signal}`);
      proc.signal(signal);
      return {};
    },

    closeStdin(req) {
      table.findRunning(req.process?.selector).closeStdin();
      return {};
    },

    async update(req) {
      const proc = table.findRunning(req.process?.selector);
      if (req.pty) await proc.resize(validPtySize(req.pty.size));
      return {};
    },
  };
}

type InputCase = { case: 'stdin' | 'pty'; value: Uint8Array } | { case: undefined; value?: undefined } | undefined;

/** stdin to a pty process, or pty input to a pipe process, is an error. */
function writeInput(proc: ManagedProcess, input: InputCase): Promise<void> {
  if (input?.case === 'pty') return proc.writePty(input.value);
  if (input?.case === 'stdin') return proc.writeStdin(input.value);
  return Promise.resolve();
}
