/**
 * Runs one request in the main realm, like a REPL started with the global context: the cell is
 * compiled as a vm.Script and run synchronously under a SIGINT watchdog; a cell with top-level
 * await runs as an async wrapper whose promise is then awaited (SIGINT while it waits abandons it).
 */

import { inspect } from 'node:util';
import vm from 'node:vm';
import { type ErrorEvent, INTERRUPTED, toErrorEvent } from './errors.js';
import { attribution } from './output.js';
import { emit, type RunRequest } from './protocol.js';
import { prepareCell } from './transform.js';
import { isTypeScript, stripTypes } from './typescript.js';

interface Running {
  id: number;
  /** Set once the request has answered done; later errors of its code are no longer its own. */
  finished: boolean;
  interrupt: (() => void) | null;
}

let running: Running | null = null;
let cellNumber = 0;

function reportError(id: number, error: ErrorEvent): void {
  emit({ id, type: 'error', ...error });
}

/** Errors that surface outside the cell's own flow (unhandled rejections, throws in callbacks). */
export function reportAsyncError(thrown: unknown): void {
  const id = running && !running.finished ? running.id : attribution.id;
  emit({ id, type: 'error', ...toErrorEvent(thrown) });
}

/** SIGINT outside the synchronous part of a cell: a cell awaiting something gives up waiting. */
export function interruptRunning(): void {
  running?.interrupt?.();
}

function compile(request: RunRequest, defaultLanguage: string | undefined) {
  const language = request.language ?? defaultLanguage;
  const javascript = isTypeScript(language) ? stripTypes(request.code) : request.code;
  const cell = prepareCell(javascript);
  cellNumber += 1;
  const script = new vm.Script(cell.source, { filename: `<cell ${cellNumber}>` });
  return { script, isAsync: cell.isAsync };
}

function settle(): Promise<void> {
  // Rejections nobody handled are reported by Node after the microtask queue drains; one macrotask
  // later they have been, so they are still errors of this request.
  return new Promise((resolve) => setImmediate(resolve));
}

type Outcome = { value: unknown } | undefined;

/** Runs the cell; a rejected promise carries what it threw, or Interrupted. */
function evaluate(script: vm.Script, isAsync: boolean, state: Running): Promise<Outcome> {
  return new Promise<Outcome>((resolve, reject) => {
    const completion: unknown = script.runInThisContext({ breakOnSigint: true, displayErrors: false });
    if (!isAsync) return resolve({ value: completion });
    state.interrupt = () => reject(new Interrupted());
    (completion as Promise<Outcome>).then(resolve, reject);
  });
}

class Interrupted extends Error {}

export async function runRequest(request: RunRequest, defaultLanguage: string | undefined): Promise<void> {
  const state: Running = { id: request.id, finished: false, interrupt: null };
  running = state;
  attribution.id = request.id;
  let compiled: ReturnType<typeof compile> | undefined;
  try {
    compiled = compile(request, defaultLanguage);
  } catch (thrown) {
    reportError(request.id, toErrorEvent(thrown, false));
  }
  try {
    const outcome = compiled ? await evaluate(compiled.script, compiled.isAsync, state) : undefined;
    if (outcome && outcome.value !== undefined) {
      emit({ id: request.id, type: 'result', data: { 'text/plain': inspect(outcome.value, { showProxy: true }) } });
    }
  } catch (thrown) {
    reportError(request.id, thrown instanceof Interrupted ? INTERRUPTED : toErrorEvent(thrown));
  }
  state.interrupt = null;
  await settle();
  state.finished = true;
  running = null;
  emit({ id: request.id, type: 'done' });
}
