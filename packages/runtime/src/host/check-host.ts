import fs from 'node:fs/promises';
import { defaultTemplatesDir, isTemplateBuilt } from '../images/template-paths.js';
import { tryCommand } from '../process/run-command.js';
import { criuCheck, defaultCriuBinary } from './criu.js';
import { defaultHelpersDir } from './ensure-helpers.js';

/** One line of `sandboxd doctor`: what was checked, whether it passed, and how to fix it. */
export interface HostCheck {
  name: string;
  ok: boolean;
  fix?: string;
}

const aptFix = (pkg: string) => `apt-get install -y --no-install-recommends ${pkg}`;
const v1Controllers = ['memory', 'pids', 'cpu', 'cpuacct', 'freezer', 'devices'];

/** Everything the runc runtime needs from the host, checked without changing anything. */
export async function checkHost(
  options: { templatesDir?: string; helpersDir?: string; templateName?: string; criuBinary?: string } = {},
): Promise<HostCheck[]> {
  const templatesDir = options.templatesDir ?? defaultTemplatesDir;
  const helpersDir = options.helpersDir ?? defaultHelpersDir;
  const template = options.templateName ?? 'base';
  const has = (cmd: string, args: string[] = ['--version']) => tryCommand(cmd, args, { timeoutMs: 10_000 });
  const exists = (p: string) =>
    fs.stat(p).then(
      () => true,
      () => false,
    );
  const [runc, criu, iptables, debootstrap, gcc, ip, mkfs, tini, idmap, templateOk, helpersOk, ...controllers] =
    await Promise.all([
      has('runc'),
      criuCheck(options.criuBinary ?? defaultCriuBinary),
      has('iptables'),
      exists('/usr/sbin/debootstrap'),
      has('gcc'),
      has('ip', ['-V']),
      has('mkfs.ext4', ['-V']),
      exists('/usr/bin/tini-static'),
      kernelSupportsIdmap(),
      isTemplateBuilt(templatesDir, template),
      // Only the dir: helpers are named by the hash of their source, and the runtime builds the
      // versions its own source asks for at start-up (gcc is checked above).
      exists(helpersDir),
      ...v1Controllers.map((c) => exists(`/sys/fs/cgroup/${c}/cgroup.procs`)),
    ]);
  const controllersOk = controllers.every(Boolean);
  return [
    { name: 'running as root', ok: process.getuid?.() === 0, fix: 'run sandboxd as root' },
    { name: 'runc', ok: runc, fix: aptFix('runc') },
    {
      name: `criu check (${options.criuBinary ?? defaultCriuBinary}: pause/resume)`,
      ok: criu.ok,
      fix: `run \`sandboxd setup\` (builds CRIU 4.1.1 with our patch); criu said: ${criu.detail}`,
    },
    { name: 'iptables (firewall, CRIU network lock)', ok: iptables, fix: aptFix('iptables') },
    { name: 'iproute2 (ip)', ok: ip, fix: aptFix('iproute2') },
    { name: 'mkfs.ext4', ok: mkfs, fix: aptFix('e2fsprogs') },
    { name: 'debootstrap', ok: debootstrap, fix: aptFix('debootstrap') },
    { name: 'gcc (builds the idmount and pty helpers)', ok: gcc, fix: aptFix('gcc libc6-dev') },
    { name: 'tini-static (/usr/bin/tini-static)', ok: tini, fix: aptFix('tini') },
    {
      name: `cgroup v1 controllers mounted (${v1Controllers.join(', ')})`,
      ok: controllersOk,
      fix: 'boot with cgroup v1/hybrid hierarchies (systemd.unified_cgroup_hierarchy=0) or mount them under /sys/fs/cgroup',
    },
    {
      name: 'kernel supports idmapped mounts (mount_setattr, ≥ 5.12)',
      ok: idmap,
      fix: 'use a kernel ≥ 5.12 (6.x recommended)',
    },
    { name: `helpers dir ${helpersDir}`, ok: helpersOk, fix: 'run `sandboxd setup`' },
    {
      name: `template "${template}" built in ${templatesDir}`,
      ok: templateOk,
      fix: 'run `sandboxd setup` to build it',
    },
  ].map((c) => (c.ok ? { name: c.name, ok: true } : c));
}

/** mount_setattr appeared with idmapped mounts in 5.12; the running kernel's version is enough. */
async function kernelSupportsIdmap(): Promise<boolean> {
  const release = await fs.readFile('/proc/sys/kernel/osrelease', 'utf8').catch(() => '0.0');
  const [major = 0, minor = 0] = release.split('.').map((n) => Number.parseInt(n, 10));
  return major > 5 || (major === 5 && minor >= 12);
}
