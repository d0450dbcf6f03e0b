import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { needsSandboxHost } from '../testing/host-requirements.js';
import { createHarness } from '../testing/runtime-fixture.js';

/** A TCP connect from inside a sandbox (the bind-mounted node), printing `open` or `blocked`. */
function connectProbe(host: string, port: number): string {
  const js = `const s=require('net').connect(${port},'${host}');s.setTimeout(1500);s.on('connect',()=>{console.log('open');process.exit(0)});s.on('timeout',()=>{console.log('blocked');process.exit(0)});s.on('error',()=>{console.log('blocked');process.exit(0)})`;
  return `/opt/sandboxd/node -e "${js}"`;
}

test('a sandbox reaches neither another sandbox nor host services', needsSandboxHost, async (t) => {
  const h = await createHarness(t);
  const [a, b] = await Promise.all([h.create(), h.create()]);
  const hostServer = net.createServer((s) => s.end('host secret'));
  await new Promise<void>((resolve) => hostServer.listen(0, '0.0.0.0', resolve));
  t.after(() => hostServer.close());
  const hostPort = (hostServer.address() as net.AddressInfo).port;
  const idA = a.endpoint.sandboxId;

  await t.test('the probe works: A reaches its own envd', async () => {
    assert.equal((await h.exec(idA, connectProbe('127.0.0.1', 49983))).stdout.trim(), 'open');
  });

  await t.test('the host reaches both envds', async () => {
    for (const s of [a, b]) {
      assert.equal((await fetch(`http://${s.endpoint.address}:49983/health`)).status, 204);
    }
  });

  await t.test('A cannot reach B', async () => {
    assert.equal((await h.exec(idA, connectProbe(b.endpoint.address, 49983))).stdout.trim(), 'blocked');
  });

  await t.test("A cannot reach a host service on its veth's host address", async () => {
    assert.equal((await h.exec(idA, connectProbe(a.record.hostAddress, hostPort))).stdout.trim(), 'blocked');
  });

  await t.test("A cannot reach a host service on B's host address", async () => {
    assert.equal((await h.exec(idA, connectProbe(b.record.hostAddress, hostPort))).stdout.trim(), 'blocked');
  });
});
