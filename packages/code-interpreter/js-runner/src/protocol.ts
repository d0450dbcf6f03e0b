/**
 * The runner's wire: one JSON object per line on stdout. Lines are written synchronously with
 * fs.writeSync so output streams while user code runs (even a synchronous loop) and always reaches
 * the reader in the order it happened. The real process.stdout is never used for this: user code
 * gets a stand-in stream (see output.ts).
 */
import fs from 'node:fs';

export type MimeBundle = { 'text/plain': string; 'text/html'?: string };

export type RunnerEvent =
  | { id: number | null; type: 'stdout' | 'stderr'; text: string }
  | { id: number | null; type: 'result'; data: MimeBundle }
  | { id: number | null; type: 'error'; name: string; value: string; traceback: string[] }
  | { id: number | null; type: 'done' };

export interface RunRequest {
  id: number;
  code: string;
  /** Optional per request; the runner's own language (argv / env) applies otherwise. */
  language?: string;
}

const PROTOCOL_FD = 1;
// Captured once: user code may replace JSON or Atomics on the shared global.
const stringify = JSON.stringify;
const pause = new Int32Array(new SharedArrayBuffer(4));

function writeAll(fd: number, text: string): void {
  let buffer = Buffer.from(text, 'utf8');
  while (buffer.length > 0) {
    try {
      const written = fs.writeSync(fd, buffer);
      buffer = buffer.subarray(written);
    } catch (error) {
      // A reader that is slow to drain a non-blocking pipe: wait a moment and retry, never drop lines.
      if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') throw error;
      Atomics.wait(pause, 0, 0, 2);
    }
  }
}

export function emit(event: RunnerEvent): void {
  writeAll(PROTOCOL_FD, `${stringify(event)}\n`);
}

/** Diagnostics of the runner itself (not of user code) go to its real stderr. */
export function logRunner(message: string): void {
  try {
    writeAll(2, `js-runner: ${message}\n`);
  } catch {
    // stderr closed: nothing else to tell.
  }
}

/** Parses one input line; a bad line yields the reason, and the id when one could be read. */
export function parseRequest(line: string): RunRequest | { id: number | null; problem: string } {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return { id: null, problem: 'request is not valid JSON' };
  }
  if (!value || typeof value !== 'object') return { id: null, problem: 'request must be a JSON object' };
  const { id, code, language } = value as Record<string, unknown>;
  const safeId = typeof id === 'number' && Number.isInteger(id) ? id : null;
  if (safeId === null) return { id: null, problem: 'request needs an integer "id"' };
  if (typeof code !== 'string') return { id: safeId, problem: 'request needs a string "code"' };
  if (language !== undefined && typeof language !== 'string')
    return { id: safeId, problem: '"language" must be a string' };
  return language === undefined ? { id: safeId, code } : { id: safeId, code, language };
}
