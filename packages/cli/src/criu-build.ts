import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { criuCheck, defaultCriuBinary } from '@sandboxd/runtime';
import { missingPackages } from './host-packages.js';
import { repoRoot } from './paths.js';
import { runCommand } from './run-command.js';

/**
 * CRIU for pause/resume. Debian 12's criu 3.17 fails `criu check` on kernels ≥ 6.13, and stock
 * 4.1.1 cannot dump INET sockets on ≥ 6.16: Linux 6.16 restricts SO_PASSCRED/SO_PASSSEC to
 * unix, netlink and bluetooth sockets, and CRIU treats the EOPNOTSUPP `getsockopt` now answers
 * for a TCP or UDP socket as fatal ("Can't get 1:16 opt"). So setup builds 4.1.1 from Debian
 * trixie's orig tarball (checksum pinned below, the one in trixie's signed Sources index) with our
 * patch (patches/criu-4.1.1-so-pass-eopnotsupp.patch: such an option counts as not set), and
 * installs it as `defaultCriuBinary`. A stamp records what was built; a
 * matching stamp and binary skip the whole step.
 */
const version = '4.1.1';
const debianVersion = `${version}-1`;
const tarball = `criu_${version}.orig.tar.xz`;
const tarballSha256 = 'f80a66cb3726bb2116266d4759ce3bcbfab7abdb6b6d430bf20dd41911717afe';
const patchFile = path.join(repoRoot, 'packages/cli/patches/criu-4.1.1-so-pass-eopnotsupp.patch');
const stampFile = '/var/lib/sandboxd/criu-build.json';

/** Build dependencies (Debian 12 names); the libraries among them are also criu's run-time deps. */
export const criuBuildPackages = [
  'build-essential',
  'patch',
  'pkg-config',
  'libbsd-dev',
  'libcap-dev',
  'libgnutls28-dev',
  'libnet1-dev',
  'libnftables-dev',
  'libnl-3-dev',
  'libprotobuf-c-dev',
  'libprotobuf-dev',
  'protobuf-c-compiler',
  'protobuf-compiler',
  'python3-protobuf',
  'uuid-dev',
];

interface Stamp {
  version: string;
  tarballSha256: string;
  patchSha256: string;
  binarySha256: string;
}

async function sha256(file: string): Promise<string> {
  return createHash('sha256')
    .update(await fs.readFile(file))
    .digest('hex');
}

/** True when the installed binary is exactly the one this recipe (tarball + patch) built, and runs. */
export async function isCriuInstalled(binary: string = defaultCriuBinary): Promise<boolean> {
  try {
    const stamp = JSON.parse(await fs.readFile(stampFile, 'utf8')) as Stamp;
    if (stamp.version !== version || stamp.tarballSha256 !== tarballSha256) return false;
    if (stamp.patchSha256 !== (await sha256(patchFile)) || stamp.binarySha256 !== (await sha256(binary))) return false;
    // Runs at all (its shared libraries are present).
    const { stdout } = await runCommandCapture(binary, ['--version']);
    return stdout.includes(`Version: ${version}`);
  } catch {
    return false;
  }
}

export async function buildCriu(update: (detail: string) => void, binary: string = defaultCriuBinary): Promise<void> {
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const missing = missingPackages(criuBuildPackages);
  if (missing.length > 0) {
    // The package step refreshes the lists only when it installs something itself.
    await runCommand('apt-get', ['update', '-q'], { env, onLine: update });
    update(`apt-get install ${missing.join(' ')}`);
    await runCommand(
      'apt-get',
      ['install', '-y', '-q', '--no-install-recommends', '-o', 'DPkg::Lock::Timeout=600', ...missing],
      { env, onLine: update },
    );
  }
  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'sandboxd-criu-'));
  try {
    const source = await fetchSource(work, env, update);
    update(`patching ${path.basename(patchFile)}`);
    await runCommand('patch', ['-p1', '-N', '-i', patchFile, '-d', source]);
    await runCommand('make', ['-C', source, `-j${os.availableParallelism()}`, 'criu'], { env, onLine: update });
    await fs.mkdir(path.dirname(binary), { recursive: true });
    const tmp = `${binary}.${process.pid}.tmp`;
    await fs.copyFile(path.join(source, 'criu', 'criu'), tmp);
    await fs.chmod(tmp, 0o755);
    await fs.rename(tmp, binary);
    const check = await criuCheck(binary);
    if (!check.ok) throw new Error(`criu check failed after the build: ${check.detail}`);
    const stamp: Stamp = {
      version,
      tarballSha256,
      patchSha256: await sha256(patchFile),
      binarySha256: await sha256(binary),
    };
    await fs.mkdir(path.dirname(stampFile), { recursive: true });
    await fs.writeFile(stampFile, `${JSON.stringify(stamp, null, 2)}\n`);
  } finally {
    await fs.rm(work, { recursive: true, force: true });
  }
}

/**
 * Downloads the orig tarball with apt-get source from trixie, through a private apt configuration
 * so the host's sources stay untouched. On the mirror these machines use, the .dsc and the Debian
 * tarball may 404 while the orig tarball downloads, so apt-get's exit code is not trusted: the
 * tarball's checksum is.
 */
async function fetchSource(work: string, env: NodeJS.ProcessEnv, update: (d: string) => void): Promise<string> {
  const apt = path.join(work, 'apt');
  await fs.mkdir(path.join(apt, 'lists', 'partial'), { recursive: true });
  await fs.mkdir(path.join(apt, 'cache', 'archives', 'partial'), { recursive: true });
  await fs.writeFile(path.join(apt, 'sources.list'), 'deb-src http://deb.debian.org/debian trixie main\n');
  const options = [
    `Dir::Etc::sourcelist=${path.join(apt, 'sources.list')}`,
    'Dir::Etc::sourceparts=-',
    `Dir::State::Lists=${path.join(apt, 'lists')}`,
    `Dir::Cache=${path.join(apt, 'cache')}`,
    'APT::Sandbox::User=root',
  ].flatMap((o) => ['-o', o]);
  await runCommand('apt-get', [...options, 'update', '-q'], { env, onLine: update });
  const src = path.join(work, 'src');
  await fs.mkdir(src);
  await runCommand('apt-get', [...options, 'source', '--download-only', `criu=${debianVersion}`], {
    env: { ...env, PWD: src },
    onLine: update,
    cwd: src,
  }).catch(() => undefined);
  const file = path.join(src, tarball);
  const actual = await sha256(file).catch(() => 'missing');
  if (actual !== tarballSha256) {
    throw new Error(`${tarball} from trixie: sha256 ${actual}, expected ${tarballSha256}`);
  }
  update(`unpacking ${tarball}`);
  await runCommand('tar', ['-xf', file, '-C', src]);
  return path.join(src, `criu-${version}`);
}

function runCommandCapture(file: string, args: string[]): Promise<{ stdout: string }> {
  let stdout = '';
  return runCommand(file, args, {
    onLine: (l) => {
      stdout += `${l}\n`;
    },
  }).then(() => ({ stdout }));
}
