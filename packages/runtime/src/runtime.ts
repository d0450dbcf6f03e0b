/**
 * SandboxRuntime: the node-side half of sandboxd. It turns a SandboxSpec into an isolated, running
 * Linux environment whose PID 1 is envd, and takes it away again. It knows nothing of HTTP, API
 * keys or the store.
 *
 * Lifecycle of one sandbox, as the runtime sees it:
 *   create(spec) ──► running ──► kill(id) ──► gone
 *                    │    ▲
 *       pause(id) ───┘    └─── resume(id)          kill(id) of a paused sandbox ──► gone
 *                   paused
 * A paused sandbox has no process, mount, loop device, cgroup or veth: only its state directory
 * (disk image, CRIU images if memory was kept, its config) and its slot claim (its address and
 * uid range, which the restored processes and the disk's file owners depend on). It survives
 * restarts of the server and of the machine; resume re-creates everything else.
 *
 * Invariants:
 * - `create` resolves only once envd inside the sandbox answers `GET /health`; on any failure it
 *   undoes every step it took (mounts, loop devices, cgroups, veth, runc state) before rejecting.
 * - `kill` is idempotent and tolerates half-built, paused or already-gone sandboxes.
 * - `pause` resolves only once what it keeps is on stable storage; `resume` only once envd answers.
 * - One operation per sandbox at a time is the caller's job (the lifecycle's queue); the runtime
 *   rejects a second pause/resume of the same sandbox while one runs with INVALID_TRANSITION.
 * - Everything a sandbox owns on the host can be found again from its state directory, so a new
 *   process can re-adopt (`list`) or sweep (`sweep`) after a crash.
 */
export interface SandboxLimits {
  cpuCount: number;
  memoryMiB: number;
  diskSizeMiB: number;
  /** Max number of tasks (processes + threads) inside the sandbox. */
  pids: number;
}

export interface SandboxSpec {
  sandboxId: string;
  /** Name of a built template (see TemplateStore); its root filesystem becomes the overlay's lower layer. */
  templateId: string;
  limits: SandboxLimits;
  /** Environment for envd (PID 1); see @sandboxd/protocol `EnvdBootConfig`. */
  envdEnv: Record<string, string>;
  /**
   * false: boot cold even when the template has a current ready snapshot. Default: restore the
   * snapshot when there is one (see ensureReadySnapshot); a failed restore falls back to cold.
   */
  fromSnapshot?: boolean;
}

export interface SandboxEndpoint {
  sandboxId: string;
  /** Address of the sandbox inside its network namespace, reachable from the host. */
  address: string;
  /** envd's port on `address`. */
  envdPort: number;
  /** Host pid of the sandbox's PID 1 (envd). */
  pid: number;
  /** How create made it: restored from the template's ready snapshot, or booted cold. */
  from?: 'snapshot' | 'cold';
}

export interface PauseOptions {
  /**
   * true (default): checkpoint every process with CRIU; resume brings back the same pids, memory,
   * open files, listening sockets and established TCP connections.
   * false: filesystem-only; the processes are killed, the disk is kept, resume boots afresh.
   */
  memory?: boolean;
}

export interface PausedSandbox {
  sandboxId: string;
  memory: boolean;
  /** ISO time the pause was committed. */
  pausedAt: string;
  /** Size of the CRIU images on disk (0 for a filesystem-only pause). */
  imageBytes: number;
  /** A memory pause's image files and their sizes, checked before a restore (absent in older records). */
  imageSizes?: Record<string, number>;
}

export interface ResumeOptions {
  /**
   * false: boot afresh from the kept disk even if memory was checkpointed, deleting the images
   * (e.g. after a restore failed because the host's node binary changed). Default: restore
   * whatever the pause kept.
   */
  memory?: boolean;
  /**
   * For a fresh boot (a disk-only pause, or `memory: false`): variables to set in envd's
   * environment, over the ones it was created with. A sandbox handed over from the warm pool was
   * created with the pool's locked boot config; its owner's config has to come back this way.
   */
  envdEnv?: Record<string, string>;
  signal?: AbortSignal;
}

/**
 * 'stopped': a runc container that is not running. 'unknown': a state dir with neither a container
 * nor a pause record (a create, pause or resume that crashed halfway): kill it.
 */
export type RuntimeSandboxStatus = 'running' | 'paused' | 'stopped' | 'unknown';

export interface RuntimeSandbox extends SandboxEndpoint {
  status: RuntimeSandboxStatus;
  /** Set when status is 'paused' (pid is then 0). */
  paused?: PausedSandbox;
}

export interface ReadySnapshotInfo {
  templateId: string;
  key: string;
  /** CRIU images and the disk image's allocated blocks, in bytes. */
  imageBytes: number;
  diskBytes: number;
  /** False when it was already current in the machine's snapshot store (made earlier, maybe by another server). */
  made: boolean;
}

export interface SandboxRuntime {
  /** Host-wide preparation (iptables chains, blackhole route, directories). Idempotent. */
  init(): Promise<void>;
  create(spec: SandboxSpec, signal?: AbortSignal): Promise<SandboxEndpoint>;
  /**
   * Freezes the sandbox, checkpoints it (memory: true) or stops it (memory: false), flushes the
   * images and the disk to stable storage, then releases its mounts, cgroups and veth.
   * Errors: SANDBOX_NOT_FOUND (unknown id), INVALID_TRANSITION (already paused, or another
   * operation on it is running), SANDBOX_NOT_RUNNING (its container is not running),
   * RUNTIME_FAILED (the dump failed: the sandbox is thawed and keeps running, unchanged; the cause
   * carries CRIU's log). If the dump succeeded but persisting it failed, the sandbox's processes
   * are gone and list() reports it 'unknown': only kill() remains.
   */
  pause(sandboxId: string, options?: PauseOptions): Promise<PausedSandbox>;
  /**
   * Brings a paused sandbox back under the same id, address and slot: remounts its disk and
   * template, then restores it (memory pause) or boots envd afresh (filesystem-only), and resolves
   * once envd answers /health. The returned pid is the new host pid of its PID 1 (inside, pids are
   * unchanged). A sandbox that an earlier, interrupted resume already restored (running, but
   * still with its pause record) just has that resume's commit finished.
   * Errors: SANDBOX_NOT_FOUND, INVALID_TRANSITION (not paused, or another operation is running),
   * TEMPLATE_NOT_FOUND (its template was deleted), CAPACITY_EXHAUSTED (its slot was taken while
   * the claim was lost, e.g. a wiped slots dir), RUNTIME_FAILED (the restore failed: the sandbox
   * stays paused with its images intact; retry, resume with memory: false, or kill).
   */
  resume(sandboxId: string, options?: ResumeOptions): Promise<SandboxEndpoint>;
  /**
   * Errors: KILL_INCOMPLETE (the sandbox no longer runs, but a step of its teardown failed, e.g.
   * a mount that would not go: what is left stays on disk, and a second kill or the start-up
   * sweep takes it apart).
   */
  kill(sandboxId: string): Promise<void>;
  /**
   * The first half of a graceful close: SIGTERM to every process of a running sandbox except its
   * init and envd, then up to `graceMs` for them to exit. Resolves with how many were signalled
   * and how many are left; the caller kills the sandbox afterwards. A sandbox that does not run
   * (paused, gone) has no processes: `{ signalled: 0, left: 0 }`.
   */
  terminate(sandboxId: string, graceMs: number): Promise<{ signalled: number; left: number }>;
  /**
   * True only when the sandbox's container is there and has stopped (its init exited by itself);
   * false while it runs, is paused, is being created, paused, resumed or killed, or when its
   * state cannot be read. Cheap enough for one suspect, not for polling every sandbox (use list).
   */
  hasStopped(sandboxId: string): Promise<boolean>;
  /** Sandboxes this runtime's state directory knows of (paused ones included), with what runc says of each. */
  list(): Promise<RuntimeSandbox[]>;
  /**
   * Kill and remove every sandbox of this runtime that is not in `keep`, plus any leftover host
   * resources. `keep` must name every sandbox the store still holds, paused ones included: a
   * paused sandbox has no container, and one missing from `keep` is deleted with its images.
   */
  sweep(keep: ReadonlySet<string>): Promise<string[]>;
  /**
   * The sandbox's disk image: its size, and the bytes it holds on the host (it is sparse: it grows
   * as the sandbox writes, up to its size). Undefined for an unknown sandbox. Optional.
   */
  diskUsage?(sandboxId: string): Promise<{ sizeBytes: number; allocatedBytes: number } | undefined>;
  /** Cgroup usage, for metrics and `getMetrics`. */
  stats(
    sandboxId: string,
  ): Promise<{ memoryBytes: number; cpuUsageNs: number; pids: number; anonBytes?: number } | undefined>;
  /**
   * Makes the template's ready snapshot for these limits unless a current one exists: a sandbox
   * booted once, checkpointed after its ready check, that later creates restore instead of
   * booting (each copy with its own id, address, uid range, tokens, boot id and machine id).
   * Optional: a runtime without checkpoints has none.
   */
  /** `signal` ends a wait for another process making the same snapshot (never one in the making). */
  ensureReadySnapshot?(templateId: string, limits: SandboxLimits, signal?: AbortSignal): Promise<ReadySnapshotInfo>;
  /** Today's ready snapshot of the template for these limits if it exists (none is made). */
  readySnapshot?(templateId: string, limits: SandboxLimits): Promise<Omit<ReadySnapshotInfo, 'made'> | undefined>;
  /** ensureReadySnapshot for every built template that has a start command. */
  ensureReadySnapshots?(limits: SandboxLimits, signal?: AbortSignal): Promise<ReadySnapshotInfo[]>;
}
