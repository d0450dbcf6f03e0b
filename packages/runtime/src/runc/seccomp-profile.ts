/**
 * Seccomp: allow by default, deny what Docker's default profile denies to an unprivileged
 * container. Most of these already fail for lack of capabilities (the sandbox has no
 * CAP_SYS_ADMIN/MODULE/BOOT/TIME); seccomp shrinks the kernel surface reachable even so.
 * Kept allowed on purpose: ptrace and process_vm_* (debuggers; CRIU runs on the host anyway) and
 * the setuid/setgid family (sudo). io_uring is denied: a frequent source of kernel bugs.
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
    ],
  };
}
