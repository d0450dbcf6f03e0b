/**
 * Store: durable state of the control plane. One implementation per database (SQLite now,
 * Postgres for multi-node later), all running the same contract suite.
 *
 * Sandboxes rows are never deleted on kill: the row moves to `killed`, which keeps lifecycle
 * events meaningful and makes "connect to a killed sandbox" a clean 404 rather than a guess.
 */
export type SandboxState = 'creating' | 'running' | 'pausing' | 'paused' | 'resuming' | 'killing' | 'killed';

/** A team's plan: what every sandbox of the team may use. */
export interface TeamLimits {
  /** Sandboxes in creating/running/resuming at once. */
  maxConcurrentSandboxes: number;
  /** Longest continuous run: every deadline is clamped to (start of the run + this). */
  maxRuntimeSeconds: number;
  /** Sandboxes in pausing/paused at once: each holds its disk and maybe a memory image on the host. */
  maxPausedSandboxes: number;
  /** Sum of the disk sizes (MiB) of the team's sandboxes that exist (running and paused alike). */
  maxDiskMiB: number;
}

/** A team's sandboxes, counted as its limits count them. */
export interface TeamUsage {
  /** creating, running, pausing, resuming: against maxConcurrentSandboxes. */
  active: number;
  /** pausing, paused: against maxPausedSandboxes. */
  paused: number;
  /** Disk sizes (MiB) of every sandbox not killed: against maxDiskMiB. */
  diskMiB: number;
}

export interface Team extends TeamLimits {
  id: string;
  name: string;
  /** The plan the limits came from (`base`, `pro`, or `custom` once changed by hand). */
  plan: string;
}

/** What an API key resolves to: its team, and the request rate it may use. */
export interface ApiKeyGrant {
  keyId: string;
  team: Team;
  /** Requests per second for this key; null means the server's default. */
  rateLimitPerSecond: number | null;
}

export interface SandboxRecord {
  id: string;
  teamId: string;
  templateId: string;
  alias: string | null;
  state: SandboxState;
  metadata: Record<string, string>;
  envVars: Record<string, string>;
  cpuCount: number;
  memoryMiB: number;
  diskSizeMiB: number;
  envdVersion: string;
  envdAccessToken: string | null;
  allowInternetAccess: boolean;
  /** On timeout: pause (true) instead of kill. */
  autoPause: boolean;
  /** What an auto-pause keeps: memory and disk (true), or only the disk. */
  autoPauseMemory: boolean;
  /** Wake a paused sandbox when traffic reaches it through the proxy. */
  autoResume: boolean;
  /** The timeout asked for at create: what a resume on traffic starts again with. */
  timeoutSeconds: number;
  /** Epoch ms of the last pause, while paused. */
  pausedAt: number | null;
  /** While paused: whether memory was kept (false: the resume boots afresh from the disk). */
  pausedMemory: boolean | null;
  /** Epoch milliseconds. */
  startedAt: number;
  /** Start of the current continuous run (create, later each resume): maxRuntimeSeconds counts from here. */
  runtimeStartedAt: number;
  endAt: number;
  address: string | null;
  envdPort: number | null;
}

export type SandboxPatch = Partial<
  Pick<
    SandboxRecord,
    'state' | 'endAt' | 'runtimeStartedAt' | 'address' | 'envdPort' | 'metadata' | 'pausedAt' | 'pausedMemory'
  >
>;

export interface SandboxChange {
  from: SandboxState;
  patch: SandboxPatch;
  event: SandboxEvent | undefined;
}

export interface ListSandboxesQuery {
  teamId: string;
  states: SandboxState[];
  metadata: Record<string, string>;
  templateId?: string;
  startedAfter?: number;
  order: 'asc' | 'desc';
  limit: number;
  /** Exclusive cursor: the (startedAt, id) of the last row of the previous page. */
  after?: { startedAt: number; id: string };
}

export interface SandboxEvent {
  /** Store-assigned, strictly increasing: the SSE event id and the resume point of a stream. */
  seq?: number;
  sandboxId: string;
  teamId: string;
  time: number;
  type: string;
  /** user: an API call; timeout: the deadline; traffic: a request woke it; error; system: start-up. */
  cause: 'user' | 'timeout' | 'traffic' | 'error' | 'system';
  detail?: string;
}

export type StoredEvent = SandboxEvent & { seq: number };

export interface EventFilter {
  teamId: string;
  sandboxId?: string | undefined;
  afterSeq?: number | undefined;
  limit: number;
}

export interface Store {
  migrate(): void;
  close(): void;

  /** Inserts the team, or leaves an existing one as it is. */
  createTeam(team: Team): void;
  /** Inserts the team, or replaces the name, plan and limits of an existing one. */
  upsertTeam(team: Team): void;
  getTeam(id: string): Team | undefined;
  listTeams(): Team[];
  addApiKey(key: { id: string; teamId: string; hash: string; hint: string; rateLimitPerSecond?: number | null }): void;
  findApiKeyByHash(hash: string): ApiKeyGrant | undefined;
  countApiKeys(): number;

  /** Inserts the row and the event of its creation in one transaction; returns the event's seq. */
  insertSandbox(record: SandboxRecord, event: SandboxEvent): number;
  getSandbox(id: string): SandboxRecord | undefined;
  /**
   * The only update of a sandbox row: applies the patch only while the row is in `change.from`,
   * and appends the event, in one transaction. Undefined when the row is not in `from` (nothing is
   * written); otherwise the event's seq (undefined for a move without an event).
   */
  changeSandbox(id: string, change: SandboxChange): { seq: number | undefined } | undefined;
  listSandboxes(query: ListSandboxesQuery): SandboxRecord[];
  /** Sandboxes in any of `states`, across teams (for start-up reconciliation and expiry). */
  sandboxesInStates(states: SandboxState[]): SandboxRecord[];
  countActiveSandboxes(teamId: string): number;
  /** What the team's sandboxes hold now, against its limits (see TeamUsage). */
  teamUsage(teamId: string): TeamUsage;
  /** Running sandboxes whose deadline is at or before `now`. */
  expiredSandboxes(now: number): SandboxRecord[];
  /** Earliest deadline among running sandboxes, if any. */
  nextDeadline(): number | undefined;

  /**
   * Events of a team (optionally of one sandbox) in seq order: those after `afterSeq` when given,
   * otherwise the latest `limit`.
   */
  listEvents(filter: EventFilter): StoredEvent[];
}
