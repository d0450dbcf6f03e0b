/**
 * Test support: runs the execution server (the Python package in ../python, from this working tree)
 * inside the built code-interpreter-v1 template's rootfs, so it meets exactly the Python, Jupyter,
 * pandas and Node the sandboxes have, not whatever this host has installed. It runs in a private mount
 * namespace (`unshare --mount`): a tmpfs on the rootfs's /tmp, read-only binds of the sources (and of
 * the JavaScript runner bundle) over the template's own copies, then `chroot` as the rootfs's `user`
 * (uid 1000; kernels do not run as root). Nothing is written to the rootfs on disk, and the mounts die
 * with the process. The network namespace is the host's: the server listens on a free loopback port
 * and reads the sandbox-wide env vars from a fake envd here; a boot-id file the test can change plays
 * "restored from a snapshot". The official client is pointed at the server with `sandboxUrl`.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Sandbox } from '@e2b/code-interpreter';
import { defaultTemplatesDir, isTemplateBuilt, templateRootfs } from '@sandboxd/runtime';

const packageDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const template = 'code-interpreter-v1';
const templatesDir = process.env.SANDBOXD_TEMPLATES_DIR ?? defaultTemplatesDir;
const rootfs = templateRootfs(templatesDir, template);
const interpreterDir = '/opt/sandboxd/interpreter'; // where the template has its copy of the server
const userId = 1000; // the rootfs's `user`

/**
 * Test options: `{ skip }` when this host cannot run the server (not root, or the template not built),
 * `{}` otherwise. Under CI never a skip: `npm test` builds the template first, so a missing one must fail.
 */
export async function needsInterpreterRootfs(): Promise<{ skip?: string }> {
  if (process.env.CI) return {};
  if (process.getuid?.() !== 0) return { skip: 'needs root (a mount namespace and chroot into the template)' };
  if (!(await isTemplateBuilt(templatesDir, template)))
    return { skip: `template ${template} not built in ${templatesDir}: run \`sandboxd template build ${template}\`` };
  if (spawnSync('unshare', ['--version']).status !== 0) return { skip: 'unshare (util-linux) is missing' };
  return {};
}

// Mounts, in the new namespace only ($1 rootfs, $2 sources, $3 the test's dir, $4 the runner bundle or "").
// The test's dir gets the same path inside as outside, so paths the test and the server see agree.
const mountScript = `set -e
case "$3" in /tmp/*) ;; *) echo "test dir $3 is not under /tmp" >&2; exit 1 ;; esac
mount -t tmpfs -o mode=1777 tmpfs "$1/tmp"
mkdir -p "$1$3"
mount --bind "$3" "$1$3"
mount --bind -o ro "$2" "$1${interpreterDir}/sandboxd_interpreter"
if [ -n "$4" ]; then mount --bind -o ro "$4" "$1${interpreterDir}/js-runner.mjs"; fi
mount -t proc proc "$1/proc"
exec chroot --userspec=${userId}:${userId} --groups=${userId} "$1" python3 -m sandboxd_interpreter --host 127.0.0.1 --port 0`;

/** What the mounts cover (and the user's home), to show afterwards that none of it changed on disk. */
function rootfsState(): { ino: number; text: string } {
  const watched = [
    'tmp',
    'proc',
    'home/user',
    'opt/sandboxd/interpreter',
    'opt/sandboxd/interpreter/sandboxd_interpreter',
  ];
  const text = watched
    .map((rel) => {
      const st = fs.statSync(path.join(rootfs, rel));
      return `${rel} ${st.ino} ${st.mode} ${st.uid} ${st.mtimeMs} ${st.ctimeMs}`;
    })
    .join('\n');
  return { ino: fs.statSync(rootfs).ino, text };
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

/** `jsRunner`: a JavaScript runner bundle on this host, used instead of the template's (no JavaScript without). */
export async function startLocalServer(options: { jsRunner?: string } = {}): Promise<LocalServer> {
  if (!(await isTemplateBuilt(templatesDir, template)))
    throw new Error(`template ${template} not built in ${templatesDir}: run \`sandboxd template build ${template}\``);
  const before = rootfsState();
  // Under /tmp (not os.tmpdir()): inside, /tmp is the tmpfs, so the same path is made there, not on disk.
  const dir = fs.mkdtempSync('/tmp/ciserver-test-');
  const home = path.join(dir, 'home');
  fs.mkdirSync(home);
  const bootIdFile = path.join(dir, 'boot_id');
  fs.writeFileSync(bootIdFile, 'boot-0\n');
  // The server and its kernels run as `user`: they write in home (HOME too, for IPython and matplotlib).
  fs.chownSync(dir, userId, userId);
  fs.chownSync(home, userId, userId);
  const accessToken = 'test-access-token';
  const sandboxEnvs: Record<string, string> = {};

  const envd = http.createServer((req, res) => {
    const ok = req.url === '/envs' && req.headers['x-access-token'] === accessToken;
    res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' });
    res.end(JSON.stringify(ok ? sandboxEnvs : { code: 401, message: 'bad token' }));
  });
  await new Promise<void>((resolve) => envd.listen(0, '127.0.0.1', resolve));
  const envdPort = (envd.address() as AddressInfo).port;

  const sources = path.join(packageDir, 'python', 'sandboxd_interpreter');
  const args = [rootfs, sources, dir, options.jsRunner ?? ''];
  const child: ChildProcess = spawn(
    'unshare',
    ['--mount', '--propagation', 'private', 'sh', '-c', mountScript, 'sh', ...args],
    {
      // Its own process group, so stop() reaches the whole tree; the env is the sandbox's, not this host's
      // (NODE_OPTIONS with this test's loader would break the Node inside).
      detached: true,
      env: {
        PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
        LANG: 'C.UTF-8',
        HOME: home,
        PYTHONPATH: interpreterDir,
        PYTHONDONTWRITEBYTECODE: '1',
        SANDBOXD_CI_CWD: home,
        SANDBOXD_ENVD_URL: `http://127.0.0.1:${envdPort}`,
        SANDBOXD_BOOT_ID_PATH: bootIdFile,
        SANDBOXD_JS_RUNNER: options.jsRunner ? `${interpreterDir}/js-runner.mjs` : path.join(dir, 'no-js-runner.mjs'),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const logs: string[] = [];
  child.stderr?.on('data', (chunk: Buffer) => logs.push(chunk.toString('utf8')));
  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      if (child.pid) process.kill(-child.pid, signal);
    } catch {
      // the group is gone already
    }
  };
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      signalGroup('SIGTERM'); // the server stops its kernels and runners, then exits
      const timer = setTimeout(() => signalGroup('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    }
    await new Promise((resolve) => envd.close(resolve));
    fs.rmSync(dir, { recursive: true, force: true });
    // A template build meanwhile (another `npm test`) puts a new rootfs in place: nothing to compare then.
    const afterwards = rootfsState();
    if (afterwards.ino === before.ino && afterwards.text !== before.text)
      throw new Error(`the template rootfs changed:\n${before.text}\n→\n${afterwards.text}`);
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
