/**
 * Test support for RuncRuntime suites (not a test file): a throwaway state dir, a fixture envd
 * (a tiny Node HTTP server answering /health: the real envd bundle is built elsewhere), a template
 * (the machine-wide `base` if built, else a link to the dev rootfs), and probes that run inside a
 * sandbox with `runc exec` (tests only: production never uses runc exec, CRIU would lose those).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { newSandboxId } from '@sandboxd/common';
import { sandboxCgroupDirs } from '../cgroups/cgroup-v1.js';
import { defaultTemplatesDir, isTemplateBuilt } from '../images/template-paths.js';
import { vethExists } from '../netns/veth.js';
import { listLoopDevices, listMountPoints } from '../process/mounts.js';
import { runCommand } from '../process/run-command.js';
import { RuncRuntime, type RuncRuntimeOptions } from '../runc/runc-runtime.js';
import { sandboxPaths } from '../runc/sandbox-paths.js';
import { readRecord, type SandboxRecord } from '../runc/sandbox-record.js';
import type { SandboxEndpoint, SandboxLimits } from '../runtime.js';
import { SlotClaims } from '../slots/slot-claims.js';

const devRootfs = '/var/lib/sandboxd-dev/rootfs';
const defaultRunDir = '/run/sandboxd';
export const testLimits: SandboxLimits = { cpuCount: 1, memoryMiB: 256, diskSizeMiB: 512, pids: 128 };

/**
 * The fixture envd also holds state only in memory (a random secret, a hit counter, inotify event
 * counts) and can start children, so pause/resume tests can tell a restore from a cold start.
 */
const fixtureEnvd = `import http from 'node:http';
import fs from 'node:fs';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
const secret = randomUUID();
let hits = 0;
let events = 0;
const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://sandbox');
  if (url.pathname === '/health') { res.writeHead(204); return res.end(); }
  if (url.pathname === '/state') {
    res.writeHead(200, { 'content-type': 'application/json' });
    return res.end(JSON.stringify({ pid: process.pid, secret, hits: ++hits, events }));
  }
  if (url.pathname === '/watch') {
    const dir = url.searchParams.get('dir');
    fs.mkdirSync(dir, { recursive: true });
    fs.watch(dir, () => { events++; });
    return res.end('ok');
  }
  if (url.pathname === '/spawn') {
    const child = spawn('sh', ['-c', url.searchParams.get('cmd')], { stdio: 'ignore', detached: true });
    child.unref();
    return res.end(String(child.pid));
  }
  res.writeHead(404);
  res.end();
});
// Node closes an idle keep-alive connection after 5 s; a pause and resume on a loaded host can
// take longer, and the tests check that a connection survives them, not Node's idle timer.
server.keepAliveTimeout = 600000;
server.listen(49983, '0.0.0.0');
`;

export interface Harness {
  stateDir: string;
  options: RuncRuntimeOptions;
  runtime: RuncRuntime;
  /** Creates a sandbox and registers its kill with t.after. */
  create(limits?: Partial<SandboxLimits>): Promise<{ endpoint: SandboxEndpoint; record: SandboxRecord }>;
  exec(sandboxId: string, script: string, user?: string): Promise<{ code: number; stdout: string; stderr: string }>;
}

async function templatesDirFor(t: TestContext, work: string): Promise<string> {
  if (await isTemplateBuilt(defaultTemplatesDir, 'base')) return defaultTemplatesDir;
  const dir = path.join(work, 'templates');
  await fs.mkdir(path.join(dir, 'base'), { recursive: true });
  await fs.symlink(devRootfs, path.join(dir, 'base', 'rootfs'));
  await fs.writeFile(path.join(dir, 'base', 'template.json'), '{"name":"base","recipeHash":"dev"}');
  t.diagnostic('using the dev rootfs as template base');
  return dir;
}

export async function createHarness(t: TestContext, extra: Partial<RuncRuntimeOptions> = {}): Promise<Harness> {
  // mkdtemp makes a 0700 dir, like a server's private data dir: the runtime must cope with that.
  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'sandboxd-rt-'));
  const created: string[] = [];
  // One hook, in this order: sandboxes first (their runc state lives in work), then the dir.
  t.after(async () => {
    await Promise.allSettled(created.map((id) => harness.runtime.kill(id)));
    await fs.rm(work, { recursive: true, force: true });
    // A run dir a test made for itself (the reboot test wipes it): only mount points, all gone by now.
    if (extra.runDir) await fs.rm(extra.runDir, { recursive: true, force: true });
  });
  const envdBundlePath = path.join(work, 'envd.mjs');
  await fs.writeFile(envdBundlePath, fixtureEnvd);
  const stateDir = path.join(work, 'state');
  const options: RuncRuntimeOptions = {
    stateDir,
    templatesDir: await templatesDirFor(t, work),
    // Never the machine's store: a test's snapshots (fixture envd, test limits) are its own.
    snapshotsDir: path.join(work, 'snapshots'),
    envdBundlePath,
    ...extra,
  };
  const runtime = new RuncRuntime(options);
  await runtime.init();
  const harness: Harness = {
    stateDir,
    options,
    runtime,
    async create(limits = {}) {
      const sandboxId = newSandboxId();
      created.push(sandboxId);
      const endpoint = await runtime.create({
        sandboxId,
        templateId: 'base',
        limits: { ...testLimits, ...limits },
        envdEnv: {},
      });
      const record = await readRecord(path.join(stateDir, 'sandboxes', sandboxId));
      assert.ok(record);
      return { endpoint, record };
    },
    exec: (sandboxId, script, user) =>
      runCommand(
        'runc',
        [
          '--root',
          path.join(stateDir, 'runc'),
          'exec',
          ...(user ? ['--user', user] : []),
          sandboxId,
          'sh',
          '-c',
          script,
        ],
        { okCodes: Array.from({ length: 255 }, (_, i) => i + 1), timeoutMs: 60_000 },
      ),
  };
  return harness;
}

/** Asserts that no host resource of the sandbox is left, checking each kind explicitly. */
export async function assertNothingLeft(
  stateDir: string,
  sandboxId: string,
  known: { pid?: number; slot?: number; veth?: string; runDir?: string } = {},
): Promise<void> {
  const paths = sandboxPaths(stateDir, known.runDir ?? defaultRunDir, sandboxId);
  assert.equal(await exists(paths.mountDir), false, 'mount dir removed');
  assert.equal(await exists(paths.dir), false, 'state dir removed');
  assert.equal(await exists(path.join(stateDir, 'runc', sandboxId)), false, 'runc state removed');
  const mounts = (await listMountPoints()).filter((m) => m.includes(`/${sandboxId}/`) || m.endsWith(`/${sandboxId}`));
  assert.deepEqual(mounts, [], 'no mounts left');
  // A loop device can outlive the kill for a moment: a mount namespace being created elsewhere on
  // the host holds a copy of our mounts until it pivots away (autoclear then detaches it).
  const loopsOf = async () => (await listLoopDevices()).filter((l) => l.backingFile.includes(`/${sandboxId}/`));
  let loops = await loopsOf();
  for (let i = 0; i < 100 && loops.length > 0; i++, await sleep(100)) loops = await loopsOf();
  assert.deepEqual(loops, [], 'no loop devices left');
  assert.deepEqual(await sandboxCgroupDirs(sandboxId), [], 'no cgroups left');
  const claims = (await new SlotClaims().list()).filter((c) => c.sandboxId === sandboxId);
  assert.deepEqual(claims, [], 'no slot claim left');
  if (known.veth) assert.equal(await vethExists(known.veth), false, `veth ${known.veth} removed`);
  if (known.pid) assert.equal(await isAliveAfter(known.pid, 2000), false, `pid ${known.pid} gone`);
}

/** A fault-injection hook (`beforeStep`) that fails the next run of one armed step, once. */
export function faultInjector() {
  let armed: string | undefined;
  return {
    failNext(step: string): void {
      armed = step;
    },
    beforeStep(step: string): void {
      if (step !== armed) return;
      armed = undefined;
      throw new Error(`injected failure at ${step}`);
    },
  };
}

/** What the fixture envd holds only in memory (see fixtureEnvd); `hits` counts /state calls. */
export interface EnvdState {
  pid: number;
  secret: string;
  hits: number;
  events: number;
}

/**
 * GETs from the fixture envd over a fresh TCP connection each time (no pooling): a pooled
 * connection checkpointed with a paused sandbox is gone after a cold start and would fail the call.
 */
function envdGet(endpoint: SandboxEndpoint, pathAndQuery: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(
      { host: endpoint.address, port: endpoint.envdPort, path: pathAndQuery, agent: false },
      (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (c: string) => {
          body += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
  });
}

export async function envdState(endpoint: SandboxEndpoint): Promise<EnvdState> {
  const res = await envdGet(endpoint, '/state');
  assert.equal(res.status, 200);
  return JSON.parse(res.body) as EnvdState;
}

/** Asks the fixture envd to do something (spawn a child, watch a dir), so it runs as envd's descendant. */
export async function envdCall(endpoint: SandboxEndpoint, route: string, params: Record<string, string>) {
  const res = await envdGet(endpoint, `${route}?${new URLSearchParams(params)}`);
  assert.equal(res.status, 200);
  return res.body;
}

/** The slot claim of a sandbox being created (to learn its veth before a failure is injected). */
export async function claimOf(sandboxId: string) {
  return (await new SlotClaims().list()).find((c) => c.sandboxId === sandboxId);
}

function exists(p: string): Promise<boolean> {
  return fs.stat(p).then(
    () => true,
    () => false,
  );
}

/**
 * A killed PID 1 is reparented to the host's init, which reaps it on its own schedule; a zombie
 * has already exited (and left its cgroups), so it counts as gone.
 */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

async function isAliveAfter(pid: number, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(20)) if (!isAlive(pid)) return false;
  return isAlive(pid);
}
