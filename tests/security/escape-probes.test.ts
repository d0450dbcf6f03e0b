import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { needsSandboxHost } from '@sandboxd/runtime/testing';
import { Sandbox } from 'e2b';
import { startTestServer, type TestServer } from '../support/server-harness.js';

const probeScript = fs.readFileSync(
  path.join(path.dirname(fileURLToPath(import.meta.url)), 'probes/escape_probe.py'),
  'utf8',
);

interface ProbeRow {
  probe: string;
  user: 'root' | 'user';
  denied: boolean;
  detail: string;
}

/**
 * What root may do inside its own namespaces and is not an escape: CAP_NET_RAW is kept (Docker's
 * default, for ping), so raw IP sockets work, on the sandbox's own veth only (the host routes
 * nothing for sandboxes and drops spoofed sources). Anything else not denied fails the test.
 */
const allowedForRootOnly = new Set(['raw IPv4 socket (own netns)', 'raw IPv6 socket (own netns)']);

/** Host processes whose cmdline carries `token` (the host's own /proc). */
function hostPidsWith(token: string): number[] {
  const pids: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(token)) pids.push(Number(entry));
    } catch {
      // Gone meanwhile.
    }
  }
  return pids;
}

const run = async (sbx: Sandbox, cmd: string, user: 'root' | 'user' = 'root') =>
  (await sbx.commands.run(cmd, { user, timeoutMs: 60_000 })).stdout.trim();

// Issue #12: one probe program (tests/security/probes/escape_probe.py) tries every escape we know
// of, as root and as `user`, inside a real sandbox next to a second one; every attempt must fail.
describe('escape probes inside a real sandbox', needsSandboxHost, () => {
  let server: TestServer;
  let a: Sandbox;
  let b: Sandbox;
  let hostDir: string;
  let listener: net.Server;
  const hostToken = `host-banner-${randomBytes(8).toString('hex')}`;
  const foreignToken = `other-sandbox-${randomBytes(8).toString('hex')}`;
  const hostSecret = `host-secret-${randomBytes(8).toString('hex')}`;

  before(async () => {
    hostDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sandboxd-escape-'));
    fs.writeFileSync(path.join(hostDir, 'secret.txt'), hostSecret);
    // A host service on every address, IPv4 and IPv6: what a sandbox must not reach.
    listener = net.createServer((socket) => socket.end(hostToken));
    await new Promise<void>((resolve) => listener.listen({ port: 0, host: '::', ipv6Only: false }, resolve));
    server = await startTestServer({ env: { SANDBOXD_WARM_POOL: '0' } });
    server.useForE2b();
    [a, b] = await Promise.all([Sandbox.create({ timeoutMs: 300_000 }), Sandbox.create({ timeoutMs: 300_000 })]);
  });
  after(async () => {
    await Promise.all([a?.kill().catch(() => {}), b?.kill().catch(() => {})]);
    await server?.stop();
    listener?.close();
    fs.rmSync(hostDir, { recursive: true, force: true });
  });

  test('every escape attempt is denied, for root and for user; the host is untouched', async () => {
    // A process in sandbox B that A will look for, signal and trace, by B's view and the host's pid.
    await b.commands.run(`python3 -c "import time; time.sleep(600)" ${foreignToken}`, {
      background: true,
      timeoutMs: 0,
    });
    let foreignPids: number[] = [];
    for (let i = 0; i < 50 && foreignPids.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      foreignPids = hostPidsWith(foreignToken);
    }
    assert.equal(foreignPids.length, 1, "B's process is visible on the host (the probe's target)");
    const foreignPid = foreignPids[0] ?? 0;

    const aV4 = await run(a, "ip -4 -o addr show eth0 | awk '{print $4}' | cut -d/ -f1");
    const bV4 = await run(b, "ip -4 -o addr show eth0 | awk '{print $4}' | cut -d/ -f1");
    const bV6 = await run(b, "ip -6 -o addr show eth0 | awk '{print $4}' | cut -d/ -f1 | head -1");
    // The host end of A's /30 (the address before A's): where its packets to the host arrive.
    const hostV4 = aV4.replace(/\.(\d+)$/, (_, last: string) => `.${Number(last) - 1}`);
    const port = (listener.address() as net.AddressInfo).port;
    const apiPort = Number(new URL(server.url).port);
    const hostAddresses = (family: 'IPv4' | 'IPv6') =>
      Object.values(os.networkInterfaces())
        .flat()
        .filter((i) => i && i.family === family && !i.internal && !i.address.startsWith('fe80'))
        .filter((i) => i && !i.address.startsWith('10.200.'))
        .map((i) => i?.address ?? '');
    type Target = [name: string, family: 4 | 6, address: string, port: number];
    const targets: Target[] = [
      ['host service via the host veth (IPv4)', 4, hostV4, port],
      ['server API via the host veth (IPv4)', 4, hostV4, apiPort],
      ['host service on 127.0.0.1 (the sandbox has its own)', 4, '127.0.0.1', port],
      ['host service on ::1 (the sandbox has its own)', 6, '::1', port],
      ['other sandbox envd (IPv4)', 4, bV4, 49983],
      ...(bV6 ? [['other sandbox envd (IPv6)', 6, `${bV6}%eth0`, 49983] as Target] : []),
      // The host's own addresses (traffic to them stays on this machine): no route leads there.
      ...hostAddresses('IPv4')
        .slice(0, 1)
        .map((addr): Target => ['host service on a host IPv4 address', 4, addr, port]),
      ...hostAddresses('IPv6')
        .slice(0, 1)
        .map((addr): Target => ['host service on a host IPv6 address', 6, addr, port]),
    ];
    const config = {
      hostFile: path.join(hostDir, 'secret.txt'),
      dataDir: server.dataDir,
      hostV4,
      hostToken: server.dataDir,
      foreignToken,
      foreignPids: [
        ['the server process (host)', server.process.pid],
        ['the test runner (host)', process.pid],
        ['other sandbox process', foreignPid],
      ],
      targets,
    };
    await a.files.write('/tmp/escape_probe.py', probeScript);

    const rows: ProbeRow[] = [];
    for (const user of ['root', 'user'] as const) {
      const result = await a.commands.run('python3 /tmp/escape_probe.py', {
        user,
        envs: { PROBE_CONFIG: JSON.stringify(config) },
        timeoutMs: 120_000,
      });
      const lines = result.stdout.trim().split('\n');
      assert.equal(
        JSON.parse(lines.at(-1) ?? '{}').probe,
        'done',
        `${user}: the probe ran to its end\n${result.stderr}`,
      );
      for (const line of lines.slice(0, -1)) rows.push({ ...(JSON.parse(line) as Omit<ProbeRow, 'user'>), user });
    }

    const width = Math.max(...rows.map((r) => r.probe.length));
    const table = rows.map(
      (r) => `${r.probe.padEnd(width)}  ${r.user.padEnd(4)}  ${r.denied ? 'denied ' : 'ALLOWED'}  ${r.detail}`,
    );
    const denied = rows.filter((r) => r.denied).length;
    console.log(`${table.join('\n')}\n${rows.length} probes tried, ${denied} denied`);

    const unexpected = rows.filter((r) => !r.denied && !(r.user === 'root' && allowedForRootOnly.has(r.probe)));
    assert.deepEqual(unexpected, [], 'every escape attempt is denied');
    assert.ok(rows.length >= 120, `both users ran every probe (${rows.length})`);
    for (const probe of allowedForRootOnly) {
      assert.ok(
        rows.some((r) => r.probe === probe && r.user === 'user' && r.denied),
        `${probe}: denied to user`,
      );
    }

    // And from the host's side: nothing changed that the probes aimed at.
    assert.equal(fs.readFileSync(path.join(hostDir, 'secret.txt'), 'utf8'), hostSecret);
    assert.deepEqual(fs.readdirSync(hostDir), ['secret.txt']);
    assert.ok(fs.existsSync(`/proc/${foreignPid}`), "B's process survived A's SIGKILL");
    assert.equal(await run(b, "ps -eo args= | grep -c '^python3 -c import time'"), '1', 'B still sees its process');
  });
});
