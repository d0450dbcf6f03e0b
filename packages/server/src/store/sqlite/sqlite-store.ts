import Database from 'better-sqlite3';
import type {
  ListSandboxesQuery,
  SandboxEvent,
  SandboxPatch,
  SandboxRecord,
  SandboxState,
  Store,
  Team,
} from '../store.js';
import { migrations } from './schema.js';

interface SandboxRow {
  id: string;
  team_id: string;
  template_id: string;
  alias: string | null;
  state: SandboxState;
  metadata: string;
  env_vars: string;
  cpu_count: number;
  memory_mib: number;
  disk_size_mib: number;
  envd_version: string;
  envd_access_token: string | null;
  allow_internet_access: number;
  auto_pause: number;
  started_at: number;
  end_at: number;
  address: string | null;
  envd_port: number | null;
}

function toRecord(row: SandboxRow): SandboxRecord {
  return {
    id: row.id,
    teamId: row.team_id,
    templateId: row.template_id,
    alias: row.alias,
    state: row.state,
    metadata: JSON.parse(row.metadata) as Record<string, string>,
    envVars: JSON.parse(row.env_vars) as Record<string, string>,
    cpuCount: row.cpu_count,
    memoryMiB: row.memory_mib,
    diskSizeMiB: row.disk_size_mib,
    envdVersion: row.envd_version,
    envdAccessToken: row.envd_access_token,
    allowInternetAccess: row.allow_internet_access === 1,
    autoPause: row.auto_pause === 1,
    startedAt: row.started_at,
    endAt: row.end_at,
    address: row.address,
    envdPort: row.envd_port,
  };
}

const patchColumns: Record<keyof SandboxPatch, string> = {
  state: 'state',
  endAt: 'end_at',
  address: 'address',
  envdPort: 'envd_port',
  metadata: 'metadata',
};

/** SQLite store (better-sqlite3: synchronous, so each call is atomic within this process). */
export class SqliteStore implements Store {
  readonly #db: Database.Database;

  constructor(path: string) {
    this.#db = new Database(path);
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

  close(): void {
    this.#db.close();
  }

  createTeam(team: Team): void {
    this.#db
      .prepare('INSERT INTO teams (id, name, max_concurrent_sandboxes) VALUES (?, ?, ?) ON CONFLICT(id) DO NOTHING')
      .run(team.id, team.name, team.maxConcurrentSandboxes);
  }

  getTeam(id: string): Team | undefined {
    const row = this.#db.prepare('SELECT id, name, max_concurrent_sandboxes FROM teams WHERE id = ?').get(id) as
      | { id: string; name: string; max_concurrent_sandboxes: number }
      | undefined;
    return row && { id: row.id, name: row.name, maxConcurrentSandboxes: row.max_concurrent_sandboxes };
  }

  addApiKey(key: { id: string; teamId: string; hash: string; hint: string }): void {
    this.#db
      .prepare(
        'INSERT INTO api_keys (id, team_id, key_hash, hint, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT(key_hash) DO NOTHING',
      )
      .run(key.id, key.teamId, key.hash, key.hint, Date.now());
  }

  findTeamByKeyHash(hash: string): Team | undefined {
    const row = this.#db
      .prepare(
        'SELECT t.id, t.name, t.max_concurrent_sandboxes FROM api_keys k JOIN teams t ON t.id = k.team_id WHERE k.key_hash = ?',
      )
      .get(hash) as { id: string; name: string; max_concurrent_sandboxes: number } | undefined;
    return row && { id: row.id, name: row.name, maxConcurrentSandboxes: row.max_concurrent_sandboxes };
  }

  countApiKeys(): number {
    return (this.#db.prepare('SELECT COUNT(*) AS n FROM api_keys').get() as { n: number }).n;
  }

  insertSandbox(r: SandboxRecord): void {
    this.#db
      .prepare(
        `INSERT INTO sandboxes (id, team_id, template_id, alias, state, metadata, env_vars, cpu_count, memory_mib,
          disk_size_mib, envd_version, envd_access_token, allow_internet_access, auto_pause, started_at, end_at,
          address, envd_port)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
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
        r.startedAt,
        r.endAt,
        r.address,
        r.envdPort,
      );
  }

  getSandbox(id: string): SandboxRecord | undefined {
    const row = this.#db.prepare('SELECT * FROM sandboxes WHERE id = ?').get(id) as SandboxRow | undefined;
    return row && toRecord(row);
  }

  updateSandbox(id: string, patch: SandboxPatch): void {
    const sets: string[] = [];
    const values: unknown[] = [];
    for (const [key, value] of Object.entries(patch) as Array<[keyof SandboxPatch, unknown]>) {
      if (value === undefined) continue;
      sets.push(`${patchColumns[key]} = ?`);
      values.push(key === 'metadata' ? JSON.stringify(value) : value);
    }
    if (sets.length === 0) return;
    this.#db.prepare(`UPDATE sandboxes SET ${sets.join(', ')} WHERE id = ?`).run(...values, id);
  }

  listSandboxes(q: ListSandboxesQuery): SandboxRecord[] {
    const where: string[] = ['team_id = ?'];
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
      .prepare(`SELECT COUNT(*) AS n FROM sandboxes WHERE team_id = ? AND state IN ('creating', 'running', 'resuming')`)
      .get(teamId) as { n: number };
    return row.n;
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

  recordEvent(e: SandboxEvent): void {
    this.#db
      .prepare('INSERT INTO sandbox_events (sandbox_id, team_id, time, type, cause, detail) VALUES (?, ?, ?, ?, ?, ?)')
      .run(e.sandboxId, e.teamId, e.time, e.type, e.cause, e.detail ?? null);
  }

  listEvents(filter: { teamId: string; sandboxId?: string; limit: number }): SandboxEvent[] {
    const params: unknown[] = [filter.teamId];
    let sql = 'SELECT sandbox_id, team_id, time, type, cause, detail FROM sandbox_events WHERE team_id = ?';
    if (filter.sandboxId) {
      sql += ' AND sandbox_id = ?';
      params.push(filter.sandboxId);
    }
    sql += ' ORDER BY seq DESC LIMIT ?';
    params.push(filter.limit);
    const rows = this.#db.prepare(sql).all(...params) as Array<{
      sandbox_id: string;
      team_id: string;
      time: number;
      type: string;
      cause: SandboxEvent['cause'];
      detail: string | null;
    }>;
    return rows.reverse().map((r) => ({
      sandboxId: r.sandbox_id,
      teamId: r.team_id,
      time: r.time,
      type: r.type,
      cause: r.cause,
      ...(r.detail === null ? {} : { detail: r.detail }),
    }));
  }
}
