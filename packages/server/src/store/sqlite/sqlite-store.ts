import { SandboxdError } from '@sandboxd/common';
import Database from 'better-sqlite3';
import type {
  ApiKeyGrant,
  EventFilter,
  ListSandboxesQuery,
  SandboxChange,
  SandboxEvent,
  SandboxRecord,
  SandboxState,
  Store,
  StoredEvent,
  Team,
  TeamUsage,
} from '../store.js';
import { patchColumns, type SandboxRow, type TeamRow, teamColumns, toRecord, toTeam } from './rows.js';
import { migrations } from './schema.js';
import { SpaceReserve } from './space-reserve.js';

/** SQLite store (better-sqlite3: synchronous, so each call is atomic within this process). */
export class SqliteStore implements Store {
  readonly #connection: Database.Database;
  readonly #reserve: SpaceReserve | undefined;

  /** `reserveBytes`: a file kept beside the database that lets a kill be recorded on a full disk (SpaceReserve). */
  constructor(path: string, options: { reserveBytes?: number } = {}) {
    this.#connection = new Database(path);
    this.#reserve = options.reserveBytes ? new SpaceReserve(`${path}-reserve`, options.reserveBytes) : undefined;
    // WAL: readers never block the writer; NORMAL sync is durable across process crashes.
    this.#db.pragma('journal_mode = WAL');
    this.#db.pragma('synchronous = NORMAL');
    this.#db.pragma('foreign_keys = ON');
    this.#db.pragma('busy_timeout = 5000');
  }

  migrate(): void {
    const current = this.#db.pragma('user_version', { simple: true }) as number;
    for (let step = current; step < migrations.length; step++) {
      const sql = migrations[step];
      if (sql === undefined) break;
      this.#db.transaction(() => {
        this.#db.exec(sql);
        this.#db.pragma(`user_version = ${step + 1}`);
      })();
    }
  }

  /** Idempotent; every call afterwards fails with SHUTTING_DOWN. */
  close(): void {
    if (this.#connection.open) this.#connection.close();
  }

  get #db(): Database.Database {
    if (!this.#connection.open) throw new SandboxdError('SHUTTING_DOWN', 'the store is closed');
    return this.#connection;
  }

  createTeam(team: Team): void {
    this.#db
      .prepare(
        `INSERT INTO teams (${teamInsertColumns}) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT(id) DO NOTHING`,
      )
      .run(...teamValues(team));
  }

  upsertTeam(team: Team): void {
    this.#db
      .prepare(
        `INSERT INTO teams (${teamInsertColumns}) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT(id) DO UPDATE SET name = excluded.name, plan = excluded.plan,
           max_concurrent_sandboxes = excluded.max_concurrent_sandboxes,
           max_runtime_seconds = excluded.max_runtime_seconds,
           max_paused_sandboxes = excluded.max_paused_sandboxes,
           max_disk_mib = excluded.max_disk_mib`,
      )
      .run(...teamValues(team));
  }

  getTeam(id: string): Team | undefined {
    const row = this.#db.prepare(`SELECT ${teamColumns} FROM teams t WHERE t.id = ?`).get(id) as TeamRow | undefined;
    return row && toTeam(row);
  }

  listTeams(): Team[] {
    return (this.#db.prepare(`SELECT ${teamColumns} FROM teams t ORDER BY t.id`).all() as TeamRow[]).map(toTeam);
  }

  addApiKey(key: { id: string; teamId: string; hash: string; hint: string; rateLimitPerSecond?: number | null }): void {
    this.#db
      .prepare(
        `INSERT INTO api_keys (id, team_id, key_hash, hint, created_at, rate_limit_per_second) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT(key_hash) DO NOTHING`,
      )
      .run(key.id, key.teamId, key.hash, key.hint, Date.now(), key.rateLimitPerSecond ?? null);
  }

  findApiKeyByHash(hash: string): ApiKeyGrant | undefined {
    const row = this.#db
      .prepare(
        `SELECT ${teamColumns}, k.id AS key_id, k.rate_limit_per_second
         FROM api_keys k JOIN teams t ON t.id = k.team_id WHERE k.key_hash = ?`,
      )
      .get(hash) as (TeamRow & { key_id: string; rate_limit_per_second: number | null }) | undefined;
    return row && { keyId: row.key_id, team: toTeam(row), rateLimitPerSecond: row.rate_limit_per_second };
  }

  countApiKeys(): number {
    return (this.#db.prepare('SELECT COUNT(*) AS n FROM api_keys').get() as { n: number }).n;
  }

  insertSandbox(r: SandboxRecord, event: SandboxEvent): number {
    return this.#db.transaction(() => {
      this.#insertRow(r);
      return this.#insertEvent(event);
    })();
  }

  #insertRow(r: SandboxRecord): void {
    this.#db
      .prepare(
        `INSERT INTO sandboxes (id, team_id, template_id, alias, state, metadata, env_vars, cpu_count, memory_mib,
          disk_size_mib, envd_version, envd_access_token, allow_internet_access, auto_pause, auto_pause_memory,
          auto_resume, timeout_seconds, paused_at, paused_memory, started_at, runtime_started_at, end_at, address,
          envd_port)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        r.id,
        r.teamId,
        r.templateId,
        r.alias,
        r.state,
        JSON.stringify(r.metadata),
        JSON.stringify(r.envVars),
        r.cpuCount,
        r.memoryMiB,
        r.diskSizeMiB,
        r.envdVersion,
        r.envdAccessToken,
        r.allowInternetAccess ? 1 : 0,
        r.autoPause ? 1 : 0,
        r.autoPauseMemory ? 1 : 0,
        r.autoResume ? 1 : 0,
        r.timeoutSeconds,
        r.pausedAt,
        r.pausedMemory === null ? null : Number(r.pausedMemory),
        r.startedAt,
        r.runtimeStartedAt,
        r.endAt,
        r.address,
        r.envdPort,
      );
  }

  getSandbox(id: string): SandboxRecord | undefined {
    const row = this.#db.prepare('SELECT * FROM sandboxes WHERE id = ?').get(id) as SandboxRow | undefined;
    return row && toRecord(row);
  }

  changeSandbox(id: string, change: SandboxChange): { seq: number | undefined } | undefined {
    const sets: string[] = [];
    const values: unknown[] = [];
    for (const [key, value] of Object.entries(change.patch) as Array<[keyof SandboxChange['patch'], unknown]>) {
      if (value === undefined) continue;
      sets.push(`${patchColumns[key]} = ?`);
      values.push(key === 'metadata' ? JSON.stringify(value) : typeof value === 'boolean' ? Number(value) : value);
    }
    // `state = state` keeps the statement valid for a move that writes nothing but its event.
    if (sets.length === 0) sets.push('state = state');
    const update = this.#db.prepare(`UPDATE sandboxes SET ${sets.join(', ')} WHERE id = ? AND state = ?`);
    const write = this.#db.transaction(() => {
      // Compare-and-set on the state: a row that moved meanwhile is left alone, and so is its event.
      if (update.run(...values, id, change.from).changes === 0) return undefined;
      return { seq: change.event ? this.#insertEvent(change.event) : undefined };
    });
    const killing = change.patch.state === 'killing' || change.patch.state === 'killed';
    try {
      const written = write();
      this.#reserve?.ensure();
      return written;
    } catch (err) {
      // A full disk: a kill (which gives space back) may spend the reserve; anything else is refused.
      if (!killing || (err as { code?: unknown }).code !== 'SQLITE_FULL' || !this.#reserve?.release()) throw err;
      return write();
    }
  }

  listSandboxes(q: ListSandboxesQuery): SandboxRecord[] {
    // `state <> 'killed'` lets SQLite use the partial listing index, which holds no killed rows.
    const where: string[] = ['team_id = ?', "state <> 'killed'"];
    const params: unknown[] = [q.teamId];
    where.push(`state IN (${q.states.map(() => '?').join(', ')})`);
    params.push(...q.states);
    if (q.templateId !== undefined) {
      where.push('(template_id = ? OR alias = ?)');
      params.push(q.templateId, q.templateId);
    }
    if (q.startedAfter !== undefined) {
      where.push('started_at >= ?');
      params.push(q.startedAfter);
    }
    for (const [key, value] of Object.entries(q.metadata)) {
      // json_each keeps arbitrary keys safe (no JSON-path quoting of user input).
      where.push('EXISTS (SELECT 1 FROM json_each(sandboxes.metadata) m WHERE m.key = ? AND m.value = ?)');
      params.push(key, value);
    }
    const dir = q.order === 'asc' ? 'ASC' : 'DESC';
    if (q.after) {
      where.push(`(started_at, id) ${q.order === 'asc' ? '>' : '<'} (?, ?)`);
      params.push(q.after.startedAt, q.after.id);
    }
    const sql = `SELECT * FROM sandboxes WHERE ${where.join(' AND ')} ORDER BY started_at ${dir}, id ${dir} LIMIT ?`;
    params.push(q.limit);
    return (this.#db.prepare(sql).all(...params) as SandboxRow[]).map(toRecord);
  }

  sandboxesInStates(states: SandboxState[]): SandboxRecord[] {
    const sql = `SELECT * FROM sandboxes WHERE state IN (${states.map(() => '?').join(', ')})`;
    return (this.#db.prepare(sql).all(...states) as SandboxRow[]).map(toRecord);
  }

  countActiveSandboxes(teamId: string): number {
    const row = this.#db
      .prepare(
        `SELECT COUNT(*) AS n FROM sandboxes WHERE team_id = ? AND state IN ('creating', 'running', 'pausing', 'resuming')`,
      )
      .get(teamId) as { n: number };
    return row.n;
  }

  teamUsage(teamId: string): TeamUsage {
    const row = this.#db
      .prepare(
        `SELECT
           COALESCE(SUM(state IN ('creating', 'running', 'pausing', 'resuming')), 0) AS active,
           COALESCE(SUM(state IN ('pausing', 'paused')), 0) AS paused,
           COALESCE(SUM(disk_size_mib), 0) AS disk
         FROM sandboxes WHERE team_id = ? AND state <> 'killed'`,
      )
      .get(teamId) as { active: number; paused: number; disk: number };
    return { active: row.active, paused: row.paused, diskMiB: row.disk };
  }

  expiredSandboxes(now: number): SandboxRecord[] {
    const rows = this.#db
      .prepare(`SELECT * FROM sandboxes WHERE state = 'running' AND end_at <= ? ORDER BY end_at`)
      .all(now) as SandboxRow[];
    return rows.map(toRecord);
  }

  nextDeadline(): number | undefined {
    const row = this.#db.prepare(`SELECT MIN(end_at) AS t FROM sandboxes WHERE state = 'running'`).get() as {
      t: number | null;
    };
    return row.t ?? undefined;
  }

  #insertEvent(e: SandboxEvent): number {
    const result = this.#db
      .prepare('INSERT INTO sandbox_events (sandbox_id, team_id, time, type, cause, detail) VALUES (?, ?, ?, ?, ?, ?)')
      .run(e.sandboxId, e.teamId, e.time, e.type, e.cause, e.detail ?? null);
    return Number(result.lastInsertRowid);
  }

  listEvents(filter: EventFilter): StoredEvent[] {
    const where = ['team_id = ?'];
    const params: unknown[] = [filter.teamId];
    if (filter.sandboxId !== undefined) {
      where.push('sandbox_id = ?');
      params.push(filter.sandboxId);
    }
    if (filter.afterSeq !== undefined) {
      where.push('seq > ?');
      params.push(filter.afterSeq);
    }
    // After a seq: the oldest first (a stream catching up). Otherwise: the latest `limit`.
    const dir = filter.afterSeq === undefined ? 'DESC' : 'ASC';
    params.push(filter.limit);
    const rows = this.#db
      .prepare(
        `SELECT seq, sandbox_id, team_id, time, type, cause, detail FROM sandbox_events
         WHERE ${where.join(' AND ')} ORDER BY seq ${dir} LIMIT ?`,
      )
      .all(...params) as Array<{
      seq: number;
      sandbox_id: string;
      team_id: string;
      time: number;
      type: string;
      cause: SandboxEvent['cause'];
      detail: string | null;
    }>;
    if (dir === 'DESC') rows.reverse();
    return rows.map((r) => ({
      seq: r.seq,
      sandboxId: r.sandbox_id,
      teamId: r.team_id,
      time: r.time,
      type: r.type,
      cause: r.cause,
      ...(r.detail === null ? {} : { detail: r.detail }),
    }));
  }
}

const teamInsertColumns =
  'id, name, plan, max_concurrent_sandboxes, max_runtime_seconds, max_paused_sandboxes, max_disk_mib';

function teamValues(team: Team): [string, string, string, number, number, number, number] {
  return [
    team.id,
    team.name,
    team.plan,
    team.maxConcurrentSandboxes,
    team.maxRuntimeSeconds,
    team.maxPausedSandboxes,
    team.maxDiskMiB,
  ];
}
