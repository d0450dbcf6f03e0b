/**
 * The JavaScript/TypeScript context runner: one persistent context per process. Requests arrive on
 * stdin, one JSON object per line, and run one at a time in order; events go out on stdout (see
 * protocol.ts). `--language=typescript` (or SANDBOXD_JS_LANGUAGE=typescript) makes TypeScript the
 * default for requests that do not name a language.
 */
import fs from 'node:fs';
import net from 'node:net';
import readline from 'node:readline';
import { ProcessExitError } from './errors.js';
import { interruptRunning, reportAsyncError, runRequest } from './execute.js';
import { installModuleGlobals } from './modules.js';
import { installOutputCapture } from './output.js';
import { emit, logRunner, parseRequest, type RunRequest } from './protocol.js';
import { IMPORT_FUNCTION } from './transform.js';

function defaultLanguage(): string | undefined {
  const flag = process.argv.find((arg) => arg.startsWith('--language='));
  return flag ? flag.slice('--language='.length) : process.env.SANDBOXD_JS_LANGUAGE || undefined;
}

function openRequests(): NodeJS.ReadableStream {
  const stat = fs.fstatSync(0);
  // A pipe or socket is read without blocking a thread-pool thread; anything else as a file.
  return stat.isFIFO() || stat.isSocket()
    ? new net.Socket({ fd: 0, readable: true, writable: false })
    : fs.createReadStream('', { fd: 0 });
}

function main(): void {
  const language = defaultLanguage();
  const realExit = process.exit.bind(process);
  const input = openRequests();

  installOutputCapture();
  installModuleGlobals(IMPORT_FUNCTION);
  process.exit = ((code?: number | string) => {
    throw new ProcessExitError(code);
  }) as typeof process.exit;
  // A context outlives its cells' mistakes: nothing user code leaves behind may end the process.
  process.on('uncaughtException', reportAsyncError);
  process.on('unhandledRejection', reportAsyncError);
  process.on('SIGINT', interruptRunning);

  const queue: RunRequest[] = [];
  let busy = false;
  let ended = false;

  const pump = async () => {
    if (busy) return;
    busy = true;
    for (let next = queue.shift(); next; next = queue.shift()) {
      try {
        await runRequest(next, language);
      } catch (error) {
        logRunner(`request ${next.id} failed inside the runner: ${String(error)}`);
        emit({ id: next.id, type: 'done' });
      }
    }
    busy = false;
    if (ended) realExit(0);
  };

  const lines = readline.createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  lines.on('line', (line) => {
    if (!line.trim()) return;
    const request = parseRequest(line);
    if ('problem' in request) {
      emit({ id: request.id, type: 'error', name: 'ProtocolError', value: request.problem, traceback: [] });
      emit({ id: request.id, type: 'done' });
      return;
    }
    queue.push(request);
    void pump();
  });
  // stdin closed: the server is gone or done with this context; finish what was asked, then leave.
  lines.on('close', () => {
    ended = true;
    if (!busy) realExit(0);
  });
}

main();
