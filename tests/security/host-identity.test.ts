import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { needsSandboxHost } from '@sandboxd/runtime/testing';
import { Sandbox } from 'e2b';
import { startTestServer, type TestServer } from '../support/server-harness.js';

const hostBootId = fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
const bootId = async (sbx: Sandbox) => (await sbx.commands.run('cat /proc/sys/kernel/random/boot_id')).stdout.trim();

// Issue #9, through the official SDK and the real envd: what a sandbox can learn of its host.
describe('what a sandbox sees of the host', needsSandboxHost, () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ env: { SANDBOXD_WARM_POOL: '0' } });
    server.useForE2b();
  });
  after(() => server?.stop());

  test('its own boot id and machine id; the same boot id after a memory resume', async (t) => {
    const a = await Sandbox.create({ timeoutMs: 120_000 });
    t.after(() => Sandbox.kill(a.sandboxId));
    const b = await Sandbox.create({ timeoutMs: 120_000 });
    t.after(() => Sandbox.kill(b.sandboxId));
    const [ia, ib] = [await bootId(a), await bootId(b)];
    assert.notEqual(ia, hostBootId);
    assert.notEqual(ia, ib);
    const machineId = async (s: Sandbox) => (await s.commands.run('cat /etc/machine-id')).stdout.trim();
    assert.notEqual(await machineId(a), await machineId(b));
    assert.equal(await a.pause(), true);
    const resumed = await Sandbox.connect(a.sandboxId);
    assert.equal(await bootId(resumed), ia);
  });

  test('python is Python 3, for the user and for root; vsock sockets are refused', async (t) => {
    const sbx = await Sandbox.create({ timeoutMs: 120_000 });
    t.after(() => Sandbox.kill(sbx.sandboxId));
    assert.match((await sbx.commands.run('python --version')).stdout, /^Python 3\./);
    assert.match((await sbx.commands.run('python --version', { user: 'root' })).stdout, /^Python 3\./);
    const vsock = await sbx.commands.run(
      'python -c "import socket\ntry:\n  socket.socket(socket.AF_VSOCK, socket.SOCK_STREAM)\n  print(0)\nexcept OSError as e:\n  print(e.errno)"',
      { user: 'root' },
    );
    assert.equal(vsock.stdout.trim(), '97', 'EAFNOSUPPORT');
  });
});
