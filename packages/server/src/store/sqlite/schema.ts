/**
 * Schema migrations, applied in order inside one transaction each; `user_version` records the
 * last applied step. Append only: never edit a step that has shipped.
 */
export const migrations: string[] = [
  `
  CREATE TABLE teams (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    max_concurrent_sandboxes INTEGER NOT NULL
  );
  CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    team_id TEXT NOT NULL REFERENCES teams(id),
    key_hash TEXT NOT NULL UNIQUE,
    hint TEXT NOT NULL,
    created_at INTEGER NOT NULL
  );
  CREATE TABLE sandboxes (
    id TEXT PRIMARY KEY,
    team_id TEXT NOT NULL REFERENCES teams(id),
    template_id TEXT NOT NULL,
    alias TEXT,
    state TEXT NOT NULL,
    metadata TEXT NOT NULL,
    env_vars TEXT NOT NULL,
    cpu_count INTEGER NOT NULL,
    memory_mib INTEGER NOT NULL,
    disk_size_mib INTEGER NOT NULL,
    envd_version TEXT NOT NULL,
    envd_access_token TEXT,
    allow_internet_access INTEGER NOT NULL,
    auto_pause INTEGER NOT NULL,
    started_at INTEGER NOT NULL,
    end_at INTEGER NOT NULL,
    address TEXT,
    envd_port INTEGER
  );
  CREATE INDEX sandboxes_team_listing ON sandboxes (team_id, state, started_at, id);
  CREATE INDEX sandboxes_deadline ON sandboxes (state, end_at);
  CREATE TABLE sandbox_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    sandbox_id TEXT NOT NULL,
    team_id TEXT NOT NULL,
    time INTEGER NOT NULL,
    type TEXT NOT NULL,
    cause TEXT NOT NULL,
    detail TEXT
  );
  CREATE INDEX sandbox_events_sandbox ON sandbox_events (team_id, sandbox_id, seq);
  `,
  // Issue #3: team plans, per-key rate limits, the continuous-runtime window, auto-resume, and
  // a listing index that skips killed rows (they are kept for events, but never listed).
  `
  ALTER TABLE teams ADD COLUMN plan TEXT NOT NULL DEFAULT 'pro';
  ALTER TABLE teams ADD COLUMN max_runtime_seconds INTEGER NOT NULL DEFAULT 86400;
  ALTER TABLE api_keys ADD COLUMN rate_limit_per_second REAL;
  ALTER TABLE sandboxes ADD COLUMN runtime_started_at INTEGER NOT NULL DEFAULT 0;
  UPDATE sandboxes SET runtime_started_at = started_at;
  ALTER TABLE sandboxes ADD COLUMN auto_resume INTEGER NOT NULL DEFAULT 0;
  DROP INDEX sandboxes_team_listing;
  CREATE INDEX sandboxes_live_listing ON sandboxes (team_id, started_at, id) WHERE state <> 'killed';
  CREATE INDEX sandbox_events_team ON sandbox_events (team_id, seq);
  `,
  // Issue #5: what a timeout pauses (memory or only the disk), the timeout a resume on traffic
  // starts again with, and when and how (memory or disk only) the sandbox was paused.
  `
  ALTER TABLE sandboxes ADD COLUMN auto_pause_memory INTEGER NOT NULL DEFAULT 1;
  ALTER TABLE sandboxes ADD COLUMN timeout_seconds INTEGER NOT NULL DEFAULT 300;
  ALTER TABLE sandboxes ADD COLUMN paused_at INTEGER;
  ALTER TABLE sandboxes ADD COLUMN paused_memory INTEGER;
  `,
  // Issue #12: paused sandboxes and disk hold host storage; teams get limits on both (the pro
  // preset's numbers; a team on base gets base's).
  `
  ALTER TABLE teams ADD COLUMN max_paused_sandboxes INTEGER NOT NULL DEFAULT 100;
  ALTER TABLE teams ADD COLUMN max_disk_mib INTEGER NOT NULL DEFAULT 2048000;
  UPDATE teams SET max_paused_sandboxes = 20, max_disk_mib = 409600 WHERE plan = 'base';
  `,
];
