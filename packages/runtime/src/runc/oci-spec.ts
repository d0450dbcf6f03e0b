import type { SandboxLimits } from '../runtime.js';
import { seccompProfile } from './seccomp-profile.js';

/** Where the host's binaries appear inside every sandbox (read-only binds; same host inode, so
 * node's 36 MB of text is page cache shared by every sandbox). */
export const sandboxInit = '/opt/sandboxd/init';
export const sandboxNode = '/opt/sandboxd/node';
export const sandboxEnvd = '/opt/sandboxd/envd.mjs';
export const sandboxEnvdHelper = '/opt/sandboxd/envd-helper';
export const sandboxHostname = 'e2b.local';

export interface OciSpecInput {
  sandboxId: string;
  rootfs: string;
  uidBase: number;
  idCount: number;
  limits: SandboxLimits;
  env: Record<string, string>;
  initBinary: string;
  nodeBinary: string;
  envdBundlePath: string;
  envdHelper: string;
  netHook: { path: string; veth: string; hostCidr: string; sandboxCidr: string };
  /** The boot id hook, the sandbox's boot id file and the CRIU config that declares its mount. */
  bootId: { hook: string; file: string; criuConfig: string };
}

/** Docker's default capability set: no SYS_ADMIN, NET_ADMIN, SYS_PTRACE, SYS_MODULE, … */
const capabilities = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
];

/** runc's `runc spec` defaults. */
const maskedPaths = [
  '/proc/acpi',
  '/proc/asound',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/proc/scsi',
  '/sys/firmware',
  '/sys/devices/virtual/powercap',
];
const readonlyPaths = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

const hostPath = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

function readOnlyBind(source: string, destination: string) {
  return { destination, type: 'bind', source, options: ['bind', 'ro', 'nosuid', 'nodev'] };
}

/**
 * The OCI config.json of one sandbox. Decisions that matter later:
 * - user + network namespaces are created by runc, not joined by path: CRIU requires every
 *   namespace to be owned by the container's user namespace; the prestart
 *   hook plumbs the netns, and runc re-runs it on restore.
 * - no /sys/fs/cgroup mount: cgroup v1 mounts inside a user namespace are not worth their trouble.
 * - no rlimits: root here lacks CAP_SYS_RESOURCE, so values above the host's hard limits would
 *   fail the start; the sandbox inherits the server's limits instead.
 * - noNewPrivileges stays false so sudo (setuid) works; the user namespace bounds what it gains.
 */
export function buildOciSpec(input: OciSpecInput): Record<string, unknown> {
  const { limits } = input;
  const memoryBytes = limits.memoryMiB * 1024 * 1024;
  const env = Object.entries(input.env).map(([k, v]) => `${k}=${v}`);
  if (!('PATH' in input.env)) env.push(hostPath);
  const hook = input.netHook;
  return {
    ociVersion: '1.0.2-dev',
    process: {
      terminal: false,
      user: { uid: 0, gid: 0 },
      args: [sandboxInit, '-s', '--', sandboxNode, '--no-wasm-memory-protection-keys', sandboxEnvd],
      env,
      cwd: '/',
      capabilities: { bounding: capabilities, effective: capabilities, permitted: capabilities },
      noNewPrivileges: false,
      // Under memory pressure on the host, sandboxes go before the server.
      oomScoreAdj: 500,
    },
    root: { path: input.rootfs, readonly: false },
    hostname: sandboxHostname,
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      {
        destination: '/dev',
        type: 'tmpfs',
        source: 'tmpfs',
        options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'],
      },
      {
        destination: '/dev/pts',
        type: 'devpts',
        source: 'devpts',
        options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620'],
      },
      {
        destination: '/dev/shm',
        type: 'tmpfs',
        source: 'shm',
        options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'],
      },
      { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
      readOnlyBind(input.initBinary, sandboxInit),
      readOnlyBind(input.nodeBinary, sandboxNode),
      readOnlyBind(input.envdBundlePath, sandboxEnvd),
      readOnlyBind(input.envdHelper, sandboxEnvdHelper),
    ],
    hooks: {
      prestart: [
        {
          path: hook.path,
          args: [hook.path, hook.veth, hook.hostCidr, hook.sandboxCidr],
          env: [hostPath],
          timeout: 10,
        },
        {
          path: input.bootId.hook,
          args: [input.bootId.hook, input.bootId.file, input.rootfs],
          env: [hostPath],
          timeout: 10,
        },
      ],
    },
    annotations: { 'org.criu.config': input.bootId.criuConfig },
    linux: {
      uidMappings: [{ containerID: 0, hostID: input.uidBase, size: input.idCount }],
      gidMappings: [{ containerID: 0, hostID: input.uidBase, size: input.idCount }],
      namespaces: [
        { type: 'pid' },
        { type: 'ipc' },
        { type: 'uts' },
        { type: 'mount' },
        { type: 'network' },
        { type: 'user' },
        { type: 'cgroup' },
      ],
      cgroupsPath: `/sandboxd/${input.sandboxId}`,
      resources: {
        // Deny every device; runc still allows and creates its default set (null, zero, full,
        // random, urandom, tty, ptmx via devpts).
        devices: [{ allow: false, access: 'rwm' }],
        // swap = limit: no swap on top of the memory limit.
        memory: { limit: memoryBytes, swap: memoryBytes },
        pids: { limit: limits.pids },
        cpu: { quota: Math.round(limits.cpuCount * 100_000), period: 100_000 },
      },
      maskedPaths,
      readonlyPaths,
      seccomp: seccompProfile(),
    },
  };
}
