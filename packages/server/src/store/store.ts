/**
 * Store: durable state of the control plane. One implementation per database (SQLite now,
 * Postgres for multi-node later), all running the same contract suite.
 *
 * Sandboxes rows are never deleted on kill: the row moves to `killed`, which keeps lifecycle
 * events meaningful and makes "connect to a killed sandbox" a clean 404 rather than a guess.
 */
export type SandboxState = 'creating' | 'running' | 'pausing' | 'paused' | 'resuming' | 'killing' | 'killed';

export interface Team {
  id: string;
  name: string;
  maxConcurrentSandboxes: number;
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
  autoPause: boolean;
  /** Epoch milliseconds. */
  startedAt: number;
  endAt: number;
  address: string | null;
  envdPort: number | null;
}

export type SandboxPatch = Partial<Pick<SandboxRecord, 'state' | 'endAt' | 'address' | 'envdPort' | 'metadata'>>;

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
  sandboxId: string;
  teamId: string;
  time: number;
  type: string;
  cause: 'user' | 'timeout' | 'error' | 'system';
  detail?: string;
}

export interface Store {
  migrate(): void;
  close(): void;

  createTeam(team: Team): void;
  getTeam(id: string): Team | undefined;
  addApiKey(key: { id: string; teamId: string; hash: string; hint: string }): void;
  findTeamByKeyHash(hash: string): Team | undefined;
  countApiKeys(): number;

  insertSandbox(record: SandboxRecord): void;
  getSandbox(id: string): SandboxRecord | undefined;
  updateSandbox(id: string, patch: SandboxPatch): void;
  listSandboxes(query: ListSandboxesQuery): SandboxRecord[];
  /** Sandboxes in any of `states`, across teams (for start-up reconciliation and expiry). */
  sandboxesInStates(states: SandboxState[]): SandboxRecord[];
  countActiveSandboxes(teamId: string): number;
  /** Running sandboxes whose deadline is at or before `now`. */
  expiredSandboxes(now: number): SandboxRecord[];
  /** Earliest deadline among running sandboxes, if any. */
  nextDeadline(): number | undefined;

  recordEvent(event: SandboxEvent): void;
  listEvents(filter: { teamId: string; sandboxId?: string; limit: number }): SandboxEvent[];
}
