/**
 * Test harness: runs the real envd bundle as a child process on 127.0.0.1 and a tiny fake control
 * plane, and points the official `e2b` SDK at both through its env vars (E2B_SANDBOX_URL, E2B_API_URL).
 * Everything made here is torn down through `t.after`, even when the test fails.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  ENVD_CONFIG_ENV,
  ENVD_START_ENV,
  type EnvdStartConfig,
  encodeEnvdBootConfig,
  encodeEnvdStartConfig,
} from '@sandboxd/protocol';
import { Sandbox } from 'e2b';
import { buildEnvdBundle } from '../../build.js';

const execFileAsync = promisify(execFile);

/**
 * Test options for files that run envd on this host: it switches users and makes a mount
 * namespace, so it needs root. Elsewhere the tests skip and say why; under CI they always run.
 */
export const needsRoot: { skip?: string } =
  process.env.CI || process.getuid?.() === 0
    ? {}
    : { skip: 'runs envd on this host: needs root (run `npm test` as root)' };

let bundle: Promise<string> | undefined;
let envdHelper: Promise<string> | undefined;

const envdHelperSource = fileURLToPath(new URL('../../../runtime/native/envd-helper.c', import.meta.url));

/** The runtime's terminal helper, compiled once per test file (inside sandboxes it is bind-mounted). */
function envdHelperBinary(): Promise<string> {
  envdHelper ??= (async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'envd-envd-helper-'));
    process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
    const file = path.join(dir, 'envd-helper');
    await execFileAsync('gcc', ['-O2', '-Wall', '-o', file, envdHelperSource]);
    return file;
  })();
  return envdHelper;
}

/** Built once per test file (each node:test file runs in its own process). */
function envdBundle(): Promise<string> {
  bundle ??= (async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'envd-bundle-'));
    process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
    const file = path.join(dir, 'envd.mjs');
    await buildEnvdBundle(file);
    return file;
  })();
  return bundle;
}

/**
 * envd runs commands as `bash -l`, and here "the sandbox" is this host, whose root may have shell
 * start-up files of its own (pyenv's `rehash` in ~/.bashrc takes a second per shell, and a shell
 * killed mid-rehash leaves a lock that makes every later login shell wait forever). They are not
 * what these tests check, so envd runs in a private mount namespace where they read as empty.
 */
const maskHostShellStartup = `for f in /root/.bashrc /root/.profile /root/.bash_profile /root/.bash_login; do
  [ -f "$f" ] && mount --bind /dev/null "$f"
done
exec "$@"`;

export function makeTempDir(t: TestContext, prefix = 'envd-test-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export interface RunningEnvd {
  url: string;
  workdir: string;
  child: ChildProcess;
}

export interface EnvdOptions {
  accessToken?: string;
  envVars?: Record<string, string>;
  /** Boot as a warm-pool sandbox that waits for `POST /init`. */
  initToken?: string;
  /** A template start command and ready check for envd to run at boot. */
  start?: EnvdStartConfig;
}

export async function startEnvd(t: TestContext, options: EnvdOptions = {}): Promise<RunningEnvd> {
  const workdir = makeTempDir(t);
  const config = encodeEnvdBootConfig({
    sandboxId: 'test-sandbox',
    envVars: options.envVars ?? {},
    defaultUser: 'root',
    defaultWorkdir: workdir,
    port: 0,
    ...(options.accessToken ? { accessToken: options.accessToken } : {}),
    ...(options.initToken ? { initToken: options.initToken } : {}),
  });
  const [bundleFile, helperFile] = await Promise.all([envdBundle(), envdHelperBinary()]);
  const child = spawn(
    'unshare',
    [
      '--mount',
      '--propagation',
      'private',
      '--',
      'sh',
      '-c',
      maskHostShellStartup,
      'envd',
      process.execPath,
      bundleFile,
    ],
    {
      cwd: workdir,
      env: {
        PATH: process.env.PATH ?? '',
        [ENVD_CONFIG_ENV]: config,
        ...(options.start ? { [ENVD_START_ENV]: encodeEnvdStartConfig(options.start) } : {}),
        SANDBOXD_ENVD_HOST: '127.0.0.1',
        SANDBOXD_ENVD_HELPER: helperFile,
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  t.after(() => stopChild(child));
  const port = await listeningPort(child);
  return { url: `http://127.0.0.1:${port}`, workdir, child };
}

/** envd logs `{"msg":"envd listening","port":N}` on stderr once it accepts connections. */
function listeningPort(child: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      buffered += chunk;
      for (const line of buffered.split('\n')) {
        if (!line.includes('envd listening')) continue;
        resolve((JSON.parse(line) as { port: number }).port);
      }
    });
    child.once('exit', (code) => reject(new Error(`envd exited with ${code} before listening: ${buffered}`)));
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 3000);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/**
 * Just enough of the control plane for `Sandbox.create()` / `kill()`: every create
 * returns the same sandbox with the given envd access token.
 */
export async function startFakeControlPlane(t: TestContext, envdAccessToken?: string): Promise<string> {
  const server = http.createServer((req, res) => {
    req.resume();
    const sandbox = {
      sandboxID: 'test-sandbox',
      templateID: 'base',
      clientID: 'x',
      envdVersion: '0.6.4',
      ...(envdAccessToken ? { envdAccessToken } : {}),
    };
    const url = req.url ?? '';
    if (req.method === 'POST' && url === '/v2/sandboxes') return json(res, 201, sandbox);
    if (req.method === 'GET' && url.startsWith('/sandboxes/')) return json(res, 200, sandbox);
    if (req.method === 'DELETE' && url.startsWith('/sandboxes/')) return void res.writeHead(204).end();
    json(res, 404, { code: 404, message: 'not found' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('control plane has no port');
  return `http://127.0.0.1:${address.port}`;
}

function json(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

/** The SDK reads these lazily at `Sandbox.create()`, so set them right before creating. */
export function pointSdkAt(envd: RunningEnvd, apiUrl: string): void {
  process.env.E2B_SANDBOX_URL = envd.url;
  process.env.E2B_API_URL = apiUrl;
  process.env.E2B_API_KEY = 'e2b_0000';
  delete process.env.E2B_DEBUG;
}

export interface SandboxOptions extends EnvdOptions {
  /** The token the control plane hands the SDK; defaults to envd's own (a matching pair). */
  sdkAccessToken?: string;
}

export async function startSandbox(
  t: TestContext,
  options: SandboxOptions = {},
): Promise<{ sandbox: Sandbox; envd: RunningEnvd }> {
  const envd = await startEnvd(t, options);
  const apiUrl = await startFakeControlPlane(t, options.sdkAccessToken ?? options.accessToken);
  pointSdkAt(envd, apiUrl);
  const sandbox = await Sandbox.create();
  return { sandbox, envd };
}
