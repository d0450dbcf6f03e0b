import fs from 'node:fs/promises';
import path from 'node:path';
import { removeTree } from '../process/mounts.js';
import { runCommand, tryCommand } from '../process/run-command.js';
import type { TemplateProgress } from './build-template.js';
import { isBuildJunk } from './template-hash.js';
import type { TemplateRecipe } from './template-recipe.js';

const hostCaBundle = '/etc/ssl/certs/ca-certificates.crt';

const aptEnv = {
  PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  DEBIAN_FRONTEND: 'noninteractive',
  LANG: 'C.UTF-8',
  HOME: '/root',
};

/**
 * Everything after debootstrap, run in a chroot of the new rootfs: packages, the user, and the
 * small system files a sandbox expects. /proc is mounted for the duration (some postinst scripts
 * read it); /dev is not bind-mounted, debootstrap already created the device nodes apt needs, and a
 * host /dev bind inside a tree we later `rm -rf` is a hazard not worth taking.
 */
export async function configureTemplate(
  recipe: TemplateRecipe,
  rootfs: string,
  progress: TemplateProgress,
): Promise<void> {
  // A derived template starts from a copy of its parent, which already has the user.
  const derived = recipe.from !== undefined;
  const chroot = (args: string[], onLine?: (line: string) => void) =>
    runCommand('chroot', [rootfs, ...args], { env: aptEnv, timeoutMs: 30 * 60_000, onLine });

  await fs.copyFile('/etc/resolv.conf', path.join(rootfs, 'etc/resolv.conf'));
  // Keep services from starting inside the chroot during package installation.
  await fs.writeFile(path.join(rootfs, 'usr/sbin/policy-rc.d'), '#!/bin/sh\nexit 101\n', { mode: 0o755 });
  const proc = path.join(rootfs, 'proc');
  await runCommand('mount', ['-t', 'proc', 'proc', proc]);
  try {
    progress('apt-update', recipe.mirror);
    await chroot(['apt-get', 'update', '-q']);
    progress('apt-install', recipe.packages.join(' '));
    await chroot(
      ['apt-get', 'install', '-y', '-q', '--no-install-recommends', '-o', 'Dpkg::Use-Pty=0', ...recipe.packages],
      (line) => {
        if (line.startsWith('Setting up ')) progress('apt-install', line);
      },
    );
    if (!derived) await createUser(recipe, chroot, progress);
    if (recipe.pip?.length) await pipInstall(recipe.pip, rootfs, progress);
    for (const cmd of recipe.run ?? []) {
      progress('run', cmd);
      await chroot(['sh', '-c', cmd]);
    }
    progress('clean', 'apt caches');
    await chroot(['apt-get', 'clean']);
  } finally {
    await tryCommand('umount', ['-l', proc]);
  }
  await copyFiles(recipe, rootfs, progress);
  await writeSystemFiles(recipe, rootfs);
}

/**
 * Pinned and without dependencies: Debian's packages provide those, so a rebuild is the same.
 * pip verifies PyPI against the host's CA bundle (a host behind a TLS-inspecting proxy has its
 * own CA there), lent to the chroot for this step only: the template keeps Debian's.
 */
async function pipInstall(requirements: readonly string[], rootfs: string, progress: TemplateProgress): Promise<void> {
  progress('pip', requirements.join(' '));
  const lent = path.join(rootfs, 'tmp/.host-ca-bundle.crt');
  await fs.copyFile(hostCaBundle, lent);
  try {
    await runCommand(
      'chroot',
      [rootfs, 'pip', 'install', '-q', '--no-deps', '--no-cache-dir', '--break-system-packages', ...requirements],
      {
        env: { ...aptEnv, PIP_CERT: '/tmp/.host-ca-bundle.crt', PIP_DISABLE_PIP_VERSION_CHECK: '1' },
        timeoutMs: 10 * 60_000,
      },
    );
  } finally {
    await fs.rm(lent, { force: true });
  }
}

async function createUser(
  recipe: TemplateRecipe,
  chroot: (args: string[]) => Promise<unknown>,
  progress: TemplateProgress,
): Promise<void> {
  progress('user', `${recipe.user.name} (${recipe.user.uid}:${recipe.user.gid})`);
  const { user } = recipe;
  await chroot(['groupadd', '-g', String(user.gid), user.name]);
  await chroot([
    'useradd',
    '-m',
    '-u',
    String(user.uid),
    '-g',
    String(user.gid),
    '-G',
    'sudo',
    '-d',
    user.home,
    '-s',
    user.shell,
    user.name,
  ]);
}

/** Root-owned, world-readable copies: the sandbox's user runs them and must not be able to change them. */
async function copyFiles(recipe: TemplateRecipe, rootfs: string, progress: TemplateProgress): Promise<void> {
  for (const file of recipe.files ?? []) {
    progress('files', file.target);
    const target = path.join(rootfs, file.target);
    await removeTree(target);
    await fs.mkdir(path.dirname(target), { recursive: true });
    await fs.cp(file.source, target, { recursive: true, filter: (src) => !isBuildJunk(path.basename(src)) });
    await runCommand('chown', ['-R', '0:0', target]);
    await runCommand('chmod', ['-R', 'u+rwX,go+rX,go-w', target]);
  }
}

async function writeSystemFiles(recipe: TemplateRecipe, rootfs: string): Promise<void> {
  const etc = (name: string) => path.join(rootfs, 'etc', name);
  const short = recipe.hostname.split('.')[0] ?? recipe.hostname;
  await fs.writeFile(
    path.join(rootfs, 'etc/sudoers.d/sandboxd-user'),
    `${recipe.user.name} ALL=(ALL:ALL) NOPASSWD: ALL\n`,
    { mode: 0o440 },
  );
  await fs.writeFile(etc('hostname'), `${recipe.hostname}\n`);
  // The runtime sets this hostname in the sandbox's UTS namespace; sudo wants it resolvable.
  await fs.writeFile(
    etc('hosts'),
    `127.0.0.1\tlocalhost\n127.0.1.1\t${recipe.hostname} ${short}\n::1\tlocalhost ip6-localhost ip6-loopback\n`,
  );
  await fs.writeFile(etc('resolv.conf'), 'nameserver 1.1.1.1\nnameserver 8.8.8.8\n');
  await fs.rm(path.join(rootfs, 'usr/sbin/policy-rc.d'), { force: true });
  // Every sandbox gets its own machine id at create (rootfs/machine-id.ts); one in the template
  // would be shared by all of them.
  for (const id of ['etc/machine-id', 'var/lib/dbus/machine-id']) await fs.rm(path.join(rootfs, id), { force: true });
  for (const dir of ['var/lib/apt/lists', 'var/cache/apt', 'var/log/apt', 'tmp', 'var/tmp']) {
    await emptyDir(path.join(rootfs, dir));
  }
  await fs.mkdir(path.join(rootfs, 'var/lib/apt/lists/partial'), { recursive: true });
  // Mount points for the read-only binds of init/node/envd: present in the lower layer, runc need
  // not create them, which would copy /opt up into every sandbox's upper.
  await fs.mkdir(path.join(rootfs, 'opt/sandboxd'), { recursive: true });
  for (const f of ['init', 'node', 'envd.mjs']) await fs.writeFile(path.join(rootfs, 'opt/sandboxd', f), '');
}

async function emptyDir(dir: string): Promise<void> {
  const entries = await fs.readdir(dir).catch(() => [] as string[]);
  await Promise.all(entries.map((e) => removeTree(path.join(dir, e))));
}
