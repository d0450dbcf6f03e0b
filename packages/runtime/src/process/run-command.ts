import { spawn } from 'node:child_process';

/**
 * Runs a host command to completion, with a deadline. Output is captured (bounded) for error
 * messages; `onLine` sees stdout/stderr lines as they arrive (debootstrap progress).
 * stdin is /dev/null unless `input` is given, so no child ever waits on our terminal.
 */
export interface RunOptions {
  input?: string;
  timeoutMs?: number;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  onLine?: (line: string) => void;
  /** Exit codes treated as success besides 0 (e.g. "already exists"). */
  okCodes?: readonly number[];
  /** 'ignore': every stdio on /dev/null (for `runc run -d`, whose container inherits them). */
  stdio?: 'pipe' | 'ignore';
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

const maxCapture = 64 * 1024;

export class CommandError extends Error {
  constructor(
    readonly command: string,
    readonly result: RunResult,
  ) {
    const tail = (result.stderr || result.stdout).trim().split('\n').slice(-5).join(' | ');
    super(`${command} exited with ${result.code}: ${tail}`);
    this.name = 'CommandError';
  }
}

export function runCommand(file: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      cwd: options.cwd,
      env: options.env,
      stdio:
        options.stdio === 'ignore'
          ? ['ignore', 'ignore', 'ignore']
          : [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let pending = '';
    const feed = (chunk: string) => {
      if (!options.onLine) return;
      pending += chunk;
      const lines = pending.split(/\r?\n|\r/);
      pending = lines.pop() ?? '';
      for (const line of lines) if (line.trim()) options.onLine(line);
    };
    child.stdout?.setEncoding('utf8').on('data', (c: string) => {
      if (stdout.length < maxCapture) stdout += c;
      feed(c);
    });
    child.stderr?.setEncoding('utf8').on('data', (c: string) => {
      if (stderr.length < maxCapture) stderr += c;
      feed(c);
    });
    const timer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            child.kill('SIGKILL');
          }, options.timeoutMs);
    const command = `${file} ${args.join(' ')}`.slice(0, 200);
    child.on('error', (err) => {
      if (timer) clearTimeout(timer);
      reject(new Error(`cannot run ${file}`, { cause: err }));
    });
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      if (pending.trim()) options.onLine?.(pending);
      const result = { code: code ?? (signal ? 128 : 1), stdout, stderr };
      if (signal) result.stderr += `\nkilled by ${signal}`;
      if (result.code === 0 || options.okCodes?.includes(result.code)) resolve(result);
      else reject(new CommandError(command, result));
    });
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}

/** Like runCommand, but a failure is only worth a debug line (cleanup of maybe-gone resources). */
export async function tryCommand(file: string, args: readonly string[], options: RunOptions = {}): Promise<boolean> {
  try {
    await runCommand(file, args, options);
    return true;
  } catch {
    return false;
  }
}
