"""Escape probes, run inside a sandbox (as root and as `user`) by escape-probes.test.ts.

The environment variable PROBE_CONFIG is JSON: {"hostFile", "dataDir", "hostV4", "foreignPids",
"foreignToken", "hostToken", "targets": [[name, family, address, port], ..]}. Every probe prints one JSON line
{"probe", "denied", "detail"}: `denied` is false only when the attempt worked.
Syscalls go through libc's syscall(2) with x86_64 numbers and arguments a permitted call would
accept, so that only the permission (capabilities, seccomp, namespaces) decides the outcome.
"""
import ctypes, errno, json, os, socket, struct, sys, time

cfg = json.loads(os.environ["PROBE_CONFIG"])
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long


def report(name, denied, detail):
    print(json.dumps({"probe": name, "denied": bool(denied), "detail": str(detail)}), flush=True)


def err_name(e):
    return errno.errorcode.get(e, str(e))


# Errors that mean "not allowed" or "not there". Any other (EFAULT, EINVAL, ...) means the call got
# past the permission checks and failed later, which counts as not denied.
DENIALS = {errno.EPERM, errno.EACCES, errno.ESRCH, errno.ENOSYS, errno.EAFNOSUPPORT, errno.EROFS, errno.ENOENT}


def sys_call(name, nr, *args):
    """A raw syscall: denied when it fails with one of DENIALS."""
    # Every integer as a full register: ctypes passes a plain int to a variadic call as a 32-bit
    # int, leaving the upper half of the register to chance (the kernel reads unsigned longs).
    args = [ctypes.c_long(a) if isinstance(a, int) else a for a in args]
    ctypes.set_errno(0)
    ret = libc.syscall(ctypes.c_long(nr), *args)
    e = ctypes.get_errno()
    if ret >= 0:
        report(name, False, f"returned {ret}")
    else:
        report(name, e in DENIALS, err_name(e) if e in DENIALS else f"{err_name(e)}: past the permission checks")
    return ret


def attempt(name, fn):
    """A Python-level attempt: denied when it raises OSError, allowed when it returns."""
    try:
        detail = fn()
        report(name, False, detail if detail is not None else "succeeded")
    except OSError as e:
        report(name, True, err_name(e.errno) if e.errno else str(e))


def read_file(path):
    with open(path, "rb") as f:
        return f"read {len(f.read(64))} bytes"


def write_file(path, data=b"1"):
    with open(path, "wb") as f:
        f.write(data)
    return "written"


buf = lambda n: ctypes.create_string_buffer(n)
c_str = lambda s: ctypes.c_char_p(s.encode())
AT_FDCWD = -100

# --- host files and the server's state -------------------------------------------------------
host_file, data_dir = cfg["hostFile"], cfg["dataDir"]
attempt("host file by its path", lambda: read_file(host_file))
attempt("server data dir: list", lambda: f"listed {len(os.listdir(data_dir))} entries")
attempt("server SQLite database", lambda: read_file(os.path.join(data_dir, "sandboxd.db")))
attempt("host run dir /run/sandboxd", lambda: f"listed {os.listdir('/run/sandboxd')}")


def via_proc_roots(suffix):
    tried = 0
    for pid in [p for p in os.listdir("/proc") if p.isdigit()] + ["self", "thread-self"]:
        tried += 1
        try:
            read_file(f"/proc/{pid}/root{suffix}")
            return f"read through /proc/{pid}/root"
        except OSError:
            pass
    raise OSError(errno.ENOENT, f"not found through any of {tried} /proc/*/root")


attempt("host file via /proc/*/root", lambda: via_proc_roots(host_file))
attempt("SQLite db via /proc/*/root", lambda: via_proc_roots(os.path.join(data_dir, "sandboxd.db")))

# --- processes: the host's and another sandbox's ----------------------------------------------
def scan_cmdlines(token):
    for pid in [p for p in os.listdir("/proc") if p.isdigit()]:
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if token.encode() in f.read():
                    return f"pid {pid} carries it"
        except OSError:
            pass
    raise OSError(errno.ESRCH, "no such process visible")


attempt("host processes visible in /proc", lambda: scan_cmdlines(cfg["hostToken"]))
attempt("other sandbox's processes visible", lambda: scan_cmdlines(cfg["foreignToken"]))
PTRACE_ATTACH, PTRACE_DETACH = 16, 17
for label, pid in cfg["foreignPids"]:
    # Signal 0 for the host's processes (existence/permission only), SIGKILL for the other sandbox's.
    sys_call(f"kill {label}", 62, pid, 9 if label.startswith("other sandbox") else 0)
    if sys_call(f"ptrace attach {label}", 101, PTRACE_ATTACH, pid, 0, 0) >= 0:
        libc.syscall(ctypes.c_long(101), ctypes.c_long(PTRACE_DETACH), ctypes.c_long(pid), None, None)
    local = (ctypes.c_char * 8)()
    iov_l = struct.pack("PN", ctypes.addressof(local), 8)
    iov_r = struct.pack("PN", 0x400000, 8)
    sys_call(f"process_vm_readv {label}", 310, pid, ctypes.c_char_p(iov_l), 1, ctypes.c_char_p(iov_r), 1, 0)

# --- the classic chroot break-out (root has CAP_SYS_CHROOT): it ends at the sandbox's own root
def chroot_breakout():
    pid = os.fork()
    if pid == 0:
        try:
            os.makedirs("/tmp/probe-jail", exist_ok=True)
            os.chroot("/tmp/probe-jail")
            for _ in range(64):
                os.chdir("..")
            os.chroot(".")
            read_file(host_file)
            os._exit(0)
        except OSError as e:
            os._exit(100 + (e.errno or 0) % 100)
    status = os.waitpid(pid, 0)[1] >> 8
    if status == 0:
        return "read the host file after breaking out"
    raise OSError(status - 100 if status >= 100 else errno.EPERM, "stayed inside")


attempt("chroot break-out, then read the host file", chroot_breakout)

# --- devices and mounts ----------------------------------------------------------------------
S_IFBLK, S_IFCHR = 0o060000, 0o020000
sys_call("mknod block device (sda, 8:0)", 133, c_str("/tmp/probe-sda"), S_IFBLK | 0o600, (8 << 8) | 0)
sys_call("mknod char device (/dev/mem, 1:1)", 133, c_str("/tmp/probe-mem"), S_IFCHR | 0o600, (1 << 8) | 1)
for dev in ["/dev/sda", "/dev/vda", "/dev/nvme0n1", "/dev/mem", "/dev/kmsg", "/dev/port"]:
    attempt(f"open {dev}", lambda dev=dev: read_file(dev))
os.makedirs("/tmp/probe-mnt", exist_ok=True)
sys_call("mount tmpfs", 165, c_str("none"), c_str("/tmp/probe-mnt"), c_str("tmpfs"), 0, None)
sys_call("mount proc (a second, unmasked /proc)", 165, c_str("proc"), c_str("/tmp/probe-mnt"), c_str("proc"), 0, None)
sys_call("bind-mount / elsewhere", 165, c_str("/"), c_str("/tmp/probe-mnt"), None, 0x1000, None)
sys_call("umount read-only /proc/sys (MNT_DETACH)", 166, c_str("/proc/sys"), 2)
sys_call("umount masked /sys/firmware (MNT_DETACH)", 166, c_str("/sys/firmware"), 2)
sys_call("fsopen", 430, c_str("tmpfs"), 0)
sys_call("open_tree", 428, AT_FDCWD, c_str("/"), 1)
sys_call("unshare user namespace", 272, 0x10000000)
sys_call("unshare mount namespace", 272, 0x00020000)
sys_call("setns (own net namespace)", 308, os.open("/proc/self/ns/net", os.O_RDONLY), 0)
sys_call("pivot_root", 155, c_str("/tmp"), c_str("/tmp/probe-mnt"))

# --- cgroups ---------------------------------------------------------------------------------
os.makedirs("/tmp/probe-cg", exist_ok=True)
sys_call("mount cgroup2", 165, c_str("none"), c_str("/tmp/probe-cg"), c_str("cgroup2"), 0, None)
sys_call("mount cgroup v1 (release_agent)", 165, c_str("cgroup"), c_str("/tmp/probe-cg"), c_str("cgroup"), 0, c_str("rdma,release_agent=/tmp/x"))
attempt("write /sys/fs/cgroup/cgroup.procs", lambda: write_file("/sys/fs/cgroup/cgroup.procs", str(os.getpid()).encode()))
attempt("write /sys/fs/cgroup/../cgroup.procs", lambda: write_file("/sys/fs/cgroup/../cgroup.procs", str(os.getpid()).encode()))
attempt("write release_agent", lambda: write_file("/sys/fs/cgroup/release_agent", b"/tmp/x"))

# --- /proc/sys, /sys and the kernel ---------------------------------------------------------
for path in [
    "/proc/sys/kernel/core_pattern",
    "/proc/sys/kernel/modprobe",
    "/proc/sys/vm/drop_caches",
    "/proc/sys/net/ipv4/ip_forward",
    "/proc/sysrq-trigger",
    "/sys/kernel/mm/ksm/run",
    "/sys/class/net/eth0/mtu",
    "/sys/kernel/uevent_helper",
]:
    attempt(f"write {path}", lambda path=path: write_file(path, b"0" if "ksm" in path or "ip_forward" in path else b"|/tmp/x" if "pattern" in path else b"1"))
def read_kcore():
    with open("/proc/kcore", "rb") as f:
        if not f.read(16):
            raise OSError(errno.EPERM, "masked (reads as empty)")
    return "read kernel memory"


attempt("read /proc/kcore", read_kcore)
sys_call("init_module", 175, buf(16), 16, c_str(""))
sys_call("finit_module", 313, os.open("/bin/true", os.O_RDONLY), c_str(""), 0)
sys_call("delete_module", 176, c_str("dummy"), 0o4000)
def modprobe():
    status = os.system("modprobe dummy >/dev/null 2>&1")
    if status != 0:
        raise OSError(errno.EPERM, f"modprobe exited {status >> 8}")
    return "loaded"


attempt("modprobe dummy", modprobe)
sys_call("kexec_load", 246, 0, 0, None, 0)
sys_call("reboot (CAD off)", 169, 0xFEE1DEAD, 672274793, 0, None)
sys_call("swapon", 167, c_str("/tmp/probe-swap"), 0)
sys_call("iopl(3)", 172, 3)
sys_call("ioperm", 173, 0x80, 1, 1)
sys_call("syslog read-all", 103, 3, buf(64), 64)
sys_call("add_key", 248, c_str("user"), c_str("probe"), c_str("x"), 1, -2)
sys_call("keyctl", 250, 0, -2, 0)

# --- time ------------------------------------------------------------------------------------
now = time.time()
tv = struct.pack("ll", int(now), 0)
sys_call("settimeofday", 164, ctypes.c_char_p(tv), None)
ts = struct.pack("ll", int(now), 0)
sys_call("clock_settime(CLOCK_REALTIME)", 227, 0, ctypes.c_char_p(ts))
sys_call("adjtimex (set offset)", 159, ctypes.c_char_p(struct.pack("I", 1) + b"\0" * 204))

# --- kernel interfaces seccomp closes ------------------------------------------------------
sys_call("io_uring_setup", 425, 1, buf(120))
sys_call("userfaultfd", 323, 0)
bpf_attr = struct.pack("IIII", 2, 4, 4, 1) + b"\0" * 56  # BPF_MAP_CREATE, an array of one
sys_call("bpf (map create)", 321, 0, ctypes.c_char_p(bpf_attr), len(bpf_attr))
perf_attr = struct.pack("IIQ", 1, 112, 0) + struct.pack("Q", 0) * 3 + struct.pack("Q", 1 << 5 | 1 << 6) + b"\0" * 64
sys_call("perf_event_open (sw clock, own pid)", 298, ctypes.c_char_p(perf_attr), 0, -1, -1, 0)
handle = buf(8 + 128)
struct.pack_into("I", handle, 0, 128)
mount_id = ctypes.c_int()
libc.syscall(ctypes.c_long(303), ctypes.c_long(AT_FDCWD), c_str("/etc"), handle, ctypes.byref(mount_id), ctypes.c_long(0))  # name_to_handle_at
sys_call("open_by_handle_at", 304, os.open("/", os.O_RDONLY), handle, os.O_RDONLY)
sys_call("kcmp", 312, os.getpid(), 1, 0, 0, 0)

# --- sockets ---------------------------------------------------------------------------------
def make_socket(family, kind, proto=0):
    s = socket.socket(family, kind, proto)
    s.close()
    return "created"


attempt("AF_VSOCK socket", lambda: make_socket(40, socket.SOCK_STREAM))
attempt("AF_PACKET raw socket", lambda: make_socket(17, socket.SOCK_RAW, socket.htons(3)))
attempt("AF_PACKET dgram socket", lambda: make_socket(17, socket.SOCK_DGRAM, socket.htons(3)))
attempt("AF_XDP socket", lambda: make_socket(44, socket.SOCK_RAW))
attempt("AF_ALG socket", lambda: make_socket(38, socket.SOCK_SEQPACKET))
attempt("AF_KEY socket", lambda: make_socket(15, socket.SOCK_RAW, 2))
attempt("raw IPv4 socket (own netns)", lambda: make_socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP))
attempt("raw IPv6 socket (own netns)", lambda: make_socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6))


def connect(family, address, port):
    fam = socket.AF_INET6 if family == 6 else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(1.5)
    name, _, scope = address.partition("%")
    where = (name, port, 0, socket.if_nametoindex(scope)) if scope else (name, port)
    try:
        s.connect(where)
        data = s.recv(64)
        return f"connected, read {data!r}"
    except socket.timeout:
        raise OSError(errno.ETIMEDOUT, "timed out")
    finally:
        s.close()


def ip(args):
    """The `ip` tool (netlink): denied when it exits non-zero (it needs CAP_NET_ADMIN)."""
    status = os.system(f"ip {args} >/dev/null 2>&1")
    if status != 0:
        raise OSError(errno.EPERM, f"ip exited {status >> 8}")
    return "changed"


host_v4 = cfg["hostV4"]
attempt("add a default route via the host", lambda: ip(f"route add default via {host_v4}"))
attempt("add another sandbox's address to eth0", lambda: ip("addr add 10.200.0.6/30 dev eth0"))
attempt("change eth0's MAC address", lambda: ip("link set dev eth0 address 02:00:00:00:00:99"))
attempt("create a new interface (dummy)", lambda: ip("link add probe0 type dummy"))
attempt("add a policy routing rule", lambda: ip("rule add from all lookup 100"))


for name, family, address, port in cfg["targets"]:
    attempt(f"connect {name}", lambda f=family, a=address, p=port: connect(f, a, p))

report("done", True, "all probes ran")
