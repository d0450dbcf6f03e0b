/**
 * Seccomp: allow by default, deny what Docker's default profile denies to an unprivileged
 * container. Most of these already fail for lack of capabilities (the sandbox has no
 * CAP_SYS_ADMIN/MODULE/BOOT/TIME); seccomp shrinks the kernel surface reachable even so.
 * Kept allowed on purpose: ptrace and process_vm_* (debuggers; CRIU runs on the host anyway) and
 * the setuid/setgid family (sudo). io_uring is denied: a frequent source of kernel bugs (and its
 * IORING_OP_SOCKET would create sockets past the address-family rules below).
 */
const denied = [
  'acct',
  'add_key',
  'bpf',
  'create_module',
  'delete_module',
  'finit_module',
  'fsconfig',
  'fsmount',
  'fsopen',
  'fspick',
  'get_kernel_syms',
  'init_module',
  'io_uring_enter',
  'io_uring_register',
  'io_uring_setup',
  'ioperm',
  'iopl',
  'kcmp',
  'kexec_file_load',
  'kexec_load',
  'keyctl',
  'lookup_dcookie',
  'mount_setattr',
  'move_mount',
  'nfsservctl',
  'open_by_handle_at',
  'open_tree',
  'perf_event_open',
  'pivot_root',
  'query_module',
  'quotactl',
  'reboot',
  'request_key',
  'setns',
  'swapoff',
  'swapon',
  'syslog',
  'unshare',
  'uselib',
  'userfaultfd',
  'vm86',
  'vm86old',
  '_sysctl',
];

/**
 * clone(2) namespace flags: NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET. (NEWTIME is
 * 0x80, which overlaps the exit-signal byte of clone(2), so it only exists for unshare/clone3.)
 */
const cloneNamespaceFlags = [0x20000, 0x2000000, 0x4000000, 0x8000000, 0x10000000, 0x20000000, 0x40000000];

export interface SeccompProfile {
  defaultAction: string;
  architectures: string[];
  syscalls: Array<{
    names: string[];
    action: string;
    errnoRet?: number;
    args?: Array<{ index: number; value: number; valueTwo?: number; op: string }>;
  }>;
}

const EPERM = 1;
const ENOSYS = 38;
const EAFNOSUPPORT = 97;

/**
 * The address families a Linux dev box needs: AF_UNIX (1), AF_INET (2), AF_INET6 (10) and
 * AF_NETLINK (16, for `ip` and glibc's getifaddrs). Every other family answers EAFNOSUPPORT, as a
 * kernel built without it would: AF_VSOCK reaches past the network namespace and the firewall
 * into the host VM's vsock space (and the hypervisor), AF_PACKET/AF_XDP see raw frames, AF_ALG,
 * AF_KEY, AF_BLUETOOTH, AF_TIPC, AF_RDS, … are kernel surface nobody here needs.
 */
export const allowedSocketFamilies = [1, 2, 10, 16] as const;
/** One past the highest family Linux defines today (AF_MCTP = 45); anything ≥ it is denied too. */
const familyLimit = 46;

/**
 * Deny rules for socket(2) and socketpair(2) whose family (arg 0) is not allowed. Rules for one
 * syscall are ORed: one EQ rule per denied family below the limit, one GE rule for the rest. The
 * comparison is on the full 64-bit register, so a family with high bits set (which the kernel would
 * truncate to an int) lands in the GE rule. On 32-bit x86, socketcall(2) passes the family in
 * memory, out of seccomp's sight, so its SYS_SOCKET (1) and SYS_SOCKETPAIR (8) calls are denied
 * outright: 32-bit programs create sockets with socket(2) (i386 has it since Linux 4.3), filtered above.
 */
function socketFamilyRules(): SeccompProfile['syscalls'] {
  const denied = Array.from({ length: familyLimit }, (_, family) => family).filter(
    (family) => !(allowedSocketFamilies as readonly number[]).includes(family),
  );
  const names = ['socket', 'socketpair'];
  return [
    ...denied.map((family) => ({
      names,
      action: 'SCMP_ACT_ERRNO',
      errnoRet: EAFNOSUPPORT,
      args: [{ index: 0, value: family, op: 'SCMP_CMP_EQ' }],
    })),
    {
      names,
      action: 'SCMP_ACT_ERRNO',
      errnoRet: EAFNOSUPPORT,
      args: [{ index: 0, value: familyLimit, op: 'SCMP_CMP_GE' }],
    },
    ...[1, 8].map((call) => ({
      names: ['socketcall'],
      action: 'SCMP_ACT_ERRNO',
      errnoRet: EAFNOSUPPORT,
      args: [{ index: 0, value: call, op: 'SCMP_CMP_EQ' }],
    })),
  ];
}

export function seccompProfile(): SeccompProfile {
  return {
    defaultAction: 'SCMP_ACT_ALLOW',
    architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
    syscalls: [
      { names: denied, action: 'SCMP_ACT_ERRNO', errnoRet: EPERM },
      // New namespaces would hand the sandbox a fresh set of capabilities over them (a nested user
      // namespace makes overlayfs, netfilter & co. reachable). Docker blocks them the same way.
      // One rule per flag (rules for one syscall are ORed): deny when (flags & FLAG) == FLAG.
      ...cloneNamespaceFlags.map((flag) => ({
        names: ['clone'],
        action: 'SCMP_ACT_ERRNO',
        errnoRet: EPERM,
        args: [{ index: 0, value: flag, valueTwo: flag, op: 'SCMP_CMP_MASKED_EQ' }],
      })),
      // clone3 passes flags in memory, which seccomp cannot inspect. ENOSYS (not EPERM) makes
      // glibc ≥ 2.34 fall back to clone(2) for threads and posix_spawn, where the filter above applies.
      { names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: ENOSYS },
      ...socketFamilyRules(),
    ],
  };
}
