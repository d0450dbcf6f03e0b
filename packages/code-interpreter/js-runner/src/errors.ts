/**
 * Turns whatever user code threw into an error event: name, message as value, and the stack as
 * traceback lines, cut where the runner's own frames start (they say nothing about the user's code).
 */
import { fileURLToPath } from 'node:url';
import { inspect } from 'node:util';
import type { RunnerEvent } from './protocol.js';

export type ErrorEvent = Omit<Extract<RunnerEvent, { type: 'error' }>, 'id' | 'type'>;

const runnerFile = (() => {
  try {
    return fileURLToPath(import.meta.url);
  } catch {
    return import.meta.url;
  }
})();

/** process.exit() in a cell ends the cell with this error instead of killing the context. */
export class ProcessExitError extends Error {
  constructor(readonly exitCode: number | string | undefined) {
    super(`process.exit(${exitCode ?? ''}) was called; the context keeps running (restart it to start over)`);
    this.name = 'ProcessExit';
  }
}

export const INTERRUPTED: ErrorEvent = {
  name: 'KeyboardInterrupt',
  value: 'execution interrupted',
  traceback: ['KeyboardInterrupt: execution interrupted'],
};

function isRunnerFrame(line: string): boolean {
  return line.includes(runnerFile) || /\(node:vm:|at node:vm:|at Script\.runInThisContext/.test(line);
}

const isFrame = (line: string) => /^\s+at /.test(line);

/** Drops the runner's frames: those on top (process.exit's stand-in) and everything below the cell. */
function trimStack(stack: string): string[] {
  const lines = stack.split('\n');
  const firstFrame = lines.findIndex(isFrame);
  if (firstFrame === -1) return lines;
  let top = firstFrame;
  while (top < lines.length && isRunnerFrame(lines[top] as string)) top += 1;
  const rest = lines.slice(top);
  const cut = rest.findIndex((line) => isFrame(line) && isRunnerFrame(line));
  return [...lines.slice(0, firstFrame), ...(cut === -1 ? rest : rest.slice(0, cut))];
}

function safeString(read: () => unknown): string | undefined {
  try {
    const value = read();
    return typeof value === 'string' ? value : undefined;
  } catch {
    return undefined;
  }
}

/** `withFrames: false` for errors found while compiling a cell: their frames are all the runner's. */
export function toErrorEvent(thrown: unknown, withFrames = true): ErrorEvent {
  if (thrown instanceof Error || (thrown && typeof thrown === 'object' && 'stack' in thrown)) {
    const error = thrown as Error;
    if ((error as NodeJS.ErrnoException).code === 'ERR_SCRIPT_EXECUTION_INTERRUPTED') return INTERRUPTED;
    const name = safeString(() => error.name) ?? 'Error';
    const value = safeString(() => error.message) ?? '';
    const stack = safeString(() => error.stack);
    if (!stack) return { name, value, traceback: [`${name}: ${value}`] };
    return {
      name,
      value,
      traceback: withFrames ? trimStack(stack) : stack.split('\n').filter((line) => !isFrame(line)),
    };
  }
  // `throw 'text'`, `throw 42`, `throw { … }`: shown the way a REPL would print the value.
  const value = typeof thrown === 'string' ? thrown : inspect(thrown);
  return { name: 'Error', value, traceback: [`Uncaught ${inspect(thrown)}`] };
}
