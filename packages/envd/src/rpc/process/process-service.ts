/**
 * `process.Process` (§3.4): parse → look up user/process → act. Errors are SandboxdErrors that
 * the RPC interceptor maps to Connect codes.
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

const signals: Partial<Record<Signal, NodeJS.Signals>> = {
  [Signal.SIGKILL]: 'SIGKILL',
  [Signal.SIGTERM]: 'SIGTERM',
};

// TODO(#2): PTY support (pty.create / Update) needs a pseudo-terminal helper; answered
// `unimplemented` until then.
const noPty = () => new SandboxdError('NOT_IMPLEMENTED', 'pty is not supported by this envd yet');

export function processService(config: EnvdConfig, table: ProcessTable): Partial<ServiceImpl<typeof Process>> {
  return {
    async *start(req, ctx) {
      if (req.pty) throw noPty();
      const user = await userFromAuthorization(ctx.requestHeader.get('authorization'), config.defaultUser);
      const spec = await commandSpec(
        {
          cmd: req.process?.cmd ?? '',
          args: req.process?.args ?? [],
          envs: req.process?.envs ?? {},
          ...(req.process?.cwd !== undefined ? { cwd: req.process.cwd } : {}),
          // Unset means an open stdin pipe: older SDKs relied on it (§3.4 StartRequest).
          stdin: req.stdin ?? true,
          ...(req.tag !== undefined ? { tag: req.tag } : {}),
        },
        user,
        config,
      );
      const proc = ManagedProcess.spawn(spec);
      const subscription = subscribeOutput(proc);
      table.add(proc);
      const timeoutMs = ctx.timeoutMs();
      if (timeoutMs !== undefined && timeoutMs > 0) proc.killAfter(timeoutMs);
      yield* processEvents(
        proc,
        subscription,
        ctx.signal,
        keepaliveIntervalMs(ctx.requestHeader.get('keepalive-ping-interval')),
      );
    },

    async *connect(req, ctx) {
      const proc = table.findAny(req.process?.selector);
      const subscription = subscribeOutput(proc);
      yield* processEvents(
        proc,
        subscription,
        ctx.signal,
        keepaliveIntervalMs(ctx.requestHeader.get('keepalive-ping-interval')),
      );
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
      const input = req.input?.input;
      if (input?.case === 'pty') throw new SandboxdError('INVALID_REQUEST', `process ${proc.pid} has no pty`);
      if (input?.case === 'stdin') await proc.writeStdin(input.value);
      return {};
    },

    async streamInput(requests) {
      let proc: ManagedProcess | undefined;
      for await (const req of requests) {
        const event = req.event;
        if (event.case === 'start') proc = table.findRunning(event.value.process?.selector);
        if (event.case !== 'data') continue;
        if (!proc) throw new SandboxdError('INVALID_REQUEST', 'the first StreamInput message must be start');
        const input = event.value.input?.input;
        if (input?.case === 'pty') throw new SandboxdError('INVALID_REQUEST', `process ${proc.pid} has no pty`);
        if (input?.case === 'stdin') await proc.writeStdin(input.value);
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

    update(req) {
      table.findRunning(req.process?.selector);
      throw noPty();
    },
  };
}
