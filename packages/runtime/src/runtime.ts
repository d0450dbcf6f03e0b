/**
 * SandboxRuntime: the node-side half of sandboxd. It turns a SandboxSpec into an isolated, running
 * Linux environment whose PID 1 is envd, and takes it away again. It knows nothing of HTTP, API
 * keys or the store.
 *
 * Lifecycle of one sandbox, as the runtime sees it:
 *   create(spec) ──► running ──► kill(id) ──► gone
 * (pause/resume arrive with CRIU in a later issue and slot in between.)
 *
 * Invariants:
 * - `create` resolves only once envd inside the sandbox answers `GET /health`; on any failure it
 *   undoes every step it took (mounts, loop devices, cgroups, veth, runc state) before rejecting.
 * - `kill` is idempotent and tolerates half-built or already-gone sandboxes.
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
}

export interface SandboxEndpoint {
  sandboxId: string;
  /** Address of the sandbox inside its network namespace, reachable from the host. */
  address: string;
  /** envd's port on `address`. */
  envdPort: number;
  /** Host pid of the sandbox's PID 1 (envd). */
  pid: number;
}

export type RuntimeSandboxStatus = 'running' | 'stopped' | 'unknown';

export interface RuntimeSandbox extends SandboxEndpoint {
  status: RuntimeSandboxStatus;
}

export interface SandboxRuntime {
  /** Host-wide preparation (iptables chains, blackhole route, directories). Idempotent. */
  init(): Promise<void>;
  create(spec: SandboxSpec, signal?: AbortSignal): Promise<SandboxEndpoint>;
  kill(sandboxId: string): Promise<void>;
  /** Sandboxes this runtime's state directory knows of, with what runc says of each. */
  list(): Promise<RuntimeSandbox[]>;
  /** Kill and remove every sandbox of this runtime that is not in `keep`, plus any leftover host resources. */
  sweep(keep: ReadonlySet<string>): Promise<string[]>;
  /** Cgroup usage, for metrics and `getMetrics`. */
  stats(sandboxId: string): Promise<{ memoryBytes: number; cpuUsageNs: number; pids: number } | undefined>;
}
