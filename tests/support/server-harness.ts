import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { mountPoints } from './host-resources.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface TestServer {
  url: string;
  apiKey: string;
  dataDir: string;
  process: ChildProcess;
  /** Lines the server logged (JSON), for assertions and for failure diagnostics. */
  logs: string[];
  /** Points the official `e2b` SDK (which reads env lazily) at this server. */
  useForE2b(): void;
  api(method: string, pathname: string, body?: unknown, headers?: Record<string, string>): Promise<Response>;
  /** Runs `sandboxd <args>` (e.g. `key create --team t`) against this server's data directory. */
  cli(args: string[]): string;
  /** Sends `signal` and waits for the exit (code, or null for a signal): a crash or a shutdown, no cleanup. */
  halt(signal: NodeJS.Signals): Promise<number | null>;
  /** Kill every sandbox this server knows, then stop it (SIGTERM) and remove its data directory. */
  stop(): Promise<void>;
}

/**
 * Starts a real sandboxd server process (the same CLI `npm start` runs) on a free port with its
 * own data directory and API key, and waits until it serves.
 */
export async function startTestServer(
  options: { env?: Record<string, string>; reuseDataDir?: string; apiKey?: string } = {},
): Promise<TestServer> {
  const dataDir = options.reuseDataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'sandboxd-test-'));
  const apiKey = options.apiKey ?? `e2b_${randomBytes(20).toString('hex')}`;
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'packages/cli/src/main.ts', 'serve', '--skip-setup', '--port', '0', '--data-dir', dataDir],
    {
      cwd: repoRoot,
      env: { ...process.env, SANDBOXD_API_KEY: apiKey, SANDBOXD_LOG_LEVEL: 'info', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const logs: string[] = [];
  child.stderr?.on('data', (chunk: Buffer) => logs.push(...chunk.toString('utf8').split('\n').filter(Boolean)));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`server did not start in time:\n${logs.join('\n')}`)), 60_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
      const m = /serving on (http:\/\/\S+)/.exec(out);
      if (m?.[1]) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before serving:\n${logs.join('\n')}`));
    });
  });

  const api = (method: string, pathname: string, body?: unknown, headers: Record<string, string> = {}) =>
    fetch(`${url}${pathname}`, {
      method,
      headers: {
        'x-api-key': apiKey,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });

  let stopped: Promise<void> | undefined;
  return {
    url,
    apiKey,
    dataDir,
    process: child,
    logs,
    useForE2b() {
      process.env.E2B_API_URL = url;
      process.env.E2B_SANDBOX_URL = url;
      process.env.E2B_API_KEY = apiKey;
      process.env.E2B_DOMAIN = new URL(url).host;
    },
    api,
    cli(args: string[]) {
      return execFileSync(
        process.execPath,
        ['--import', 'tsx', 'packages/cli/src/main.ts', ...args, '--data-dir', dataDir],
        {
          cwd: repoRoot,
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
    },
    halt(signal) {
      const exited = new Promise<number | null>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode);
        else child.once('exit', (code) => resolve(code));
      });
      child.kill(signal);
      return exited;
    },
    stop() {
      stopped ??= (async () => {
        const alive = () => child.exitCode === null && child.signalCode === null;
        if (alive()) {
          try {
            for (let page = 0; page < 100; page++) {
              const res = await api('GET', '/v2/sandboxes?state=running,paused');
              const list = (await res.json()) as Array<{ sandboxID: string }>;
              if (list.length === 0) break;
              await Promise.all(list.map((s) => api('DELETE', `/sandboxes/${s.sandboxID}`)));
            }
          } catch {
            // The server may already be gone; its start-up sweep would clean up after it.
          }
          child.kill('SIGTERM');
          await new Promise<void>((resolve) => {
            if (!alive()) resolve();
            else child.once('exit', () => resolve());
          });
        }
        try {
          removeDataDir(dataDir);
        } catch (err) {
          // What the server said last is what explains a leak.
          const exit = `exit ${child.exitCode ?? child.signalCode}`;
          throw new Error(`${(err as Error).message}\nserver ${exit}, last log lines:\n${logs.slice(-30).join('\n')}`);
        }
      })();
      return stopped;
    },
  };
}

export interface ServerProcess {
  process: ChildProcess;
  /** Lines of stderr (JSON logs, or the CLI's error message). */
  logs: string[];
  stdout(): string;
  /** Exit code, or the signal's name when a signal ended it. */
  exited: Promise<number | NodeJS.Signals>;
}

/** Spawns `sandboxd serve` as is, without waiting for anything: for tests of start-up itself. */
export function spawnServerProcess(options: {
  dataDir: string;
  port?: number;
  apiKey?: string;
  env?: Record<string, string>;
}): ServerProcess {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'packages/cli/src/main.ts',
      'serve',
      '--skip-setup',
      '--port',
      String(options.port ?? 0),
      '--data-dir',
      options.dataDir,
    ],
    {
      cwd: repoRoot,
      env: {
        ...process.env,
        SANDBOXD_API_KEY: options.apiKey ?? `e2b_${randomBytes(20).toString('hex')}`,
        SANDBOXD_LOG_LEVEL: 'info',
        ...options.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const logs: string[] = [];
  let out = '';
  child.stderr?.on('data', (chunk: Buffer) => logs.push(...chunk.toString('utf8').split('\n').filter(Boolean)));
  child.stdout?.on('data', (chunk: Buffer) => {
    out += chunk.toString('utf8');
  });
  const exited = new Promise<number | NodeJS.Signals>((resolve) => {
    // 'close', not 'exit': by then every line it wrote has been read.
    child.once('close', (code, signal) => resolve(code ?? signal ?? 'SIGKILL'));
  });
  return { process: child, logs, stdout: () => out, exited };
}

/**
 * Removes a test data directory, but never through a live mount: a recursive delete across a
 * sandbox's overlay or idmapped template mount would delete the template's files.
 */
export function removeDataDir(dataDir: string): void {
  // A sandbox's mounts also live in the machine-wide run directory, named after the sandbox; its
  // state dir is here. Deleting that under a live sandbox would orphan it beyond any sweep.
  const sandboxesDir = path.join(dataDir, 'runtime', 'sandboxes');
  const ids = fs.existsSync(sandboxesDir) ? fs.readdirSync(sandboxesDir) : [];
  const mounted = mountPoints().filter(
    (mountPoint) =>
      mountPoint === dataDir ||
      mountPoint.startsWith(`${dataDir}/`) ||
      ids.some((id) => mountPoint.includes(`/${id}/`) || mountPoint.endsWith(`/${id}`)),
  );
  if (mounted.length > 0) {
    throw new Error(`refusing to delete ${dataDir}: still mounted at ${mounted.join(', ')} (a sandbox leaked)`);
  }
  fs.rmSync(dataDir, { recursive: true, force: true });
}
