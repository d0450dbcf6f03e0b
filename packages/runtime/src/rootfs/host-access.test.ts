import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { runCommand } from '../process/run-command.js';
import { sandboxPaths } from '../runc/sandbox-paths.js';
import { needsSandboxHost } from '../testing/host-requirements.js';
import { createHarness } from '../testing/runtime-fixture.js';

/** Mount point → its per-mount options (the flags a host user's access goes through). */
async function mountOptions(): Promise<Map<string, string[]>> {
  const lines = (await fs.readFile('/proc/self/mountinfo', 'utf8')).split('\n').filter(Boolean);
  return new Map(lines.map((l) => l.split(' ')).map((f) => [f[4] ?? '', (f[5] ?? '').split(',')]));
}

/**
 * Runs `args` on the host as `nobody` (uid/gid 65534, no supplementary groups), through a shell
 * that is already nobody: setpriv itself resolves the program it execs while still root.
 */
function asNobody(args: string[]) {
  const script = 'exec "$@"';
  return runCommand(
    'setpriv',
    ['--reuid=65534', '--regid=65534', '--clear-groups', 'sh', '-c', script, 'sh', ...args],
    {
      okCodes: Array.from({ length: 255 }, (_, i) => i + 1),
      timeoutMs: 30_000,
    },
  );
}

test('a host user can neither read a sandbox nor run its setuid binaries', needsSandboxHost, async (t) => {
  const h = await createHarness(t);
  // A data dir any host user may enter (the harness makes a private one): the runtime's own dirs
  // in it must still keep everyone but root out.
  await fs.chmod(path.dirname(h.stateDir), 0o755);
  const { endpoint } = await h.create();
  const id = endpoint.sandboxId;
  const paths = sandboxPaths(h.stateDir, '/run/sandboxd', id);
  // What a tenant leaves lying around: a world-readable file and a setuid-root copy of `id`.
  const planted = await h.exec(
    id,
    'echo team-secret > /tmp/secret && chmod 644 /tmp/secret && cp /usr/bin/id /tmp/suid-id && chmod 4755 /tmp/suid-id',
  );
  assert.equal(planted.code, 0, planted.stderr);

  await t.test('nobody cannot list or read anything of the sandbox', async () => {
    const attempts: Array<[string, string[]]> = [
      ['list the mount tree', ['ls', path.dirname(paths.mountDir)]],
      ["list the sandbox's mount dir", ['ls', paths.mountDir]],
      ['read through the rootfs', ['cat', path.join(paths.rootfs, 'tmp/secret')]],
      ["read through the disk's upper dir", ['cat', path.join(paths.upper, 'tmp/secret')]],
      ['read through the idmapped template', ['cat', path.join(paths.lower, 'etc/hostname')]],
      ["list the data dir's sandboxes", ['ls', path.dirname(paths.dir)]],
      ["read the sandbox's bundle", ['cat', paths.config]],
      ['read its disk image', ['head', '-c', '1', paths.diskImage]],
      ["read runc's state", ['ls', path.join(h.stateDir, 'runc')]],
      ["read through its PID 1's root", ['cat', `/proc/${endpoint.pid}/root/tmp/secret`]],
    ];
    for (const [what, args] of attempts) {
      const r = await asNobody(args);
      assert.notEqual(r.code, 0, `${what} must fail: ${r.stdout}`);
      assert.match(r.stderr, /Permission denied/, what);
      assert.doesNotMatch(r.stdout, /team-secret/, what);
    }
  });

  await t.test("nobody cannot run the sandbox's setuid binary", async () => {
    for (const binary of [path.join(paths.rootfs, 'tmp/suid-id'), path.join(paths.upper, 'tmp/suid-id')]) {
      const r = await asNobody([binary, '-u']);
      assert.notEqual(r.code, 0, `${binary} ran: euid ${r.stdout}`);
      assert.match(r.stderr, /Permission denied/);
    }
  });

  await t.test('the host mounts of the disk and the template are nosuid,nodev; the rootfs nodev', async () => {
    const byTarget = await mountOptions();
    for (const [mount, flags] of [
      [paths.diskMount, ['nosuid', 'nodev']],
      [paths.lower, ['nosuid', 'nodev']],
      [paths.rootfs, ['nodev']],
    ] as const) {
      const options = byTarget.get(mount) ?? [];
      for (const flag of flags) assert.ok(options.includes(flag), `${mount} has ${flag}: ${options.join(',')}`);
    }
  });

  await t.test('inside, setuid still works: sudo, and the planted binary for its own users', async () => {
    const sudo = await h.exec(id, 'sudo -n id -u', '1000:1000');
    assert.equal(sudo.stdout.trim(), '0', sudo.stderr);
    const suid = await h.exec(id, '/tmp/suid-id -u', '1000:1000');
    assert.equal(suid.stdout.trim(), '0', suid.stderr);
  });
});
