/**
 * Test support: runs the execution server (the Python package in ../python) directly on this host, on a
 * free loopback port, with a fake envd for the sandbox-wide env vars and a boot-id file the test can
 * change to play "restored from a snapshot". The official client is pointed at it with `sandboxUrl`.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Sandbox } from '@e2b/code-interpreter';

const packageDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const python = '/usr/bin/python3';

/** Why the server cannot run here (no Debian Jupyter stack), or undefined when it can. */
export function missingPythonStack(): string | undefined {
  try {
    execFileSync(python, ['-c', 'import jupyter_client, tornado, ipykernel'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return `${python} cannot import jupyter_client, tornado and ipykernel (apt install python3-jupyter-client python3-ipykernel python3-tornado)`;
  }
}

export interface LocalServer {
  url: string;
  /** The directory contexts start in by default. */
  home: string;
  /** What the fake envd answers on GET /envs (to the right token). */
  sandboxEnvs: Record<string, string>;
  /** The token the fake envd wants; the client sends it as X-Access-Token on /execute. */
  accessToken: string;
  /** Changes the boot id the server sees, as a restore into a new sandbox does. */
  setBootId(id: string): void;
  /** A client bound to this server, as `Sandbox.create()` would return one. */
  client(): Sandbox;
  stop(): Promise<void>;
}

export async function startLocalServer(options: { jsRunner?: string } = {}): Promise<LocalServer> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ciserver-test-'));
  const home = path.join(dir, 'home');
  fs.mkdirSync(home);
  const bootIdFile = path.join(dir, 'boot_id');
  fs.writeFileSync(bootIdFile, 'boot-0\n');
  const accessToken = 'test-access-token';
  const sandboxEnvs: Record<string, string> = {};

  const envd = http.createServer((req, res) => {
    const ok = req.url === '/envs' && req.headers['x-access-token'] === accessToken;
    res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' });
    res.end(JSON.stringify(ok ? sandboxEnvs : { code: 401, message: 'bad token' }));
  });
  await new Promise<void>((resolve) => envd.listen(0, '127.0.0.1', resolve));
  const envdPort = (envd.address() as AddressInfo).port;

  const child: ChildProcess = spawn(python, ['-m', 'sandboxd_interpreter', '--host', '127.0.0.1', '--port', '0'], {
    cwd: home,
    env: {
      ...process.env,
      PYTHONPATH: path.join(packageDir, 'python'),
      SANDBOXD_CI_CWD: home,
      SANDBOXD_ENVD_URL: `http://127.0.0.1:${envdPort}`,
      SANDBOXD_BOOT_ID_PATH: bootIdFile,
      SANDBOXD_JS_RUNNER: options.jsRunner ?? path.join(dir, 'no-js-runner.mjs'),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: string[] = [];
  child.stderr?.on('data', (chunk: Buffer) => logs.push(chunk.toString('utf8')));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    await new Promise((resolve) => envd.close(resolve));
    fs.rmSync(dir, { recursive: true, force: true });
  };
  let url: string;
  try {
    url = await new Promise<string>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`server did not start:\n${logs.join('')}`)), 90_000);
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
        reject(new Error(`server exited with ${code}:\n${logs.join('')}`));
      });
    });
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    url,
    home,
    sandboxEnvs,
    accessToken,
    setBootId: (id) => fs.writeFileSync(bootIdFile, `${id}\n`),
    client: () =>
      // The constructor is what Sandbox.create/connect end with; `sandboxUrl` sends every call to our server.
      new (Sandbox as unknown as new (opts: Record<string, unknown>) => Sandbox)({
        sandboxId: 'local',
        sandboxUrl: url,
        envdVersion: '0.2.0',
        envdAccessToken: accessToken,
        apiKey: 'unused',
      }),
    stop,
  };
}
