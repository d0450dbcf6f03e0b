import fs from 'node:fs';
import path from 'node:path';
import { SandboxdError } from '@sandboxd/common';
import { generateApiKey, registerApiKey } from '../auth/api-keys.js';
import type { Config } from '../config.js';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import type { Team, TeamLimits } from '../store/store.js';
import { isPlanName, plans } from './plans.js';

export interface TeamChange {
  plan?: string | undefined;
  maxConcurrentSandboxes?: number | undefined;
  maxRuntimeSeconds?: number | undefined;
  maxPausedSandboxes?: number | undefined;
  maxDiskMiB?: number | undefined;
}

const teamIdPattern = /^[a-z0-9][a-z0-9_-]{0,62}$/;

/**
 * Teams and API keys, for the operator (`sandboxd team …`, `sandboxd key …`). It works on the
 * server's database directly, also while a server runs (SQLite WAL: the server sees a new key or
 * limit at its next request). Keys are printed once and stored only as hashes.
 */
export class TeamAdmin {
  constructor(private readonly store: SqliteStore) {}

  static open(config: Readonly<Config>): TeamAdmin {
    fs.mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
    const store = new SqliteStore(path.join(config.dataDir, 'sandboxd.db'));
    store.migrate();
    return new TeamAdmin(store);
  }

  close(): void {
    this.store.close();
  }

  listTeams(): Team[] {
    return this.store.listTeams();
  }

  createTeam(id: string, change: TeamChange): Team {
    if (!teamIdPattern.test(id)) {
      throw new SandboxdError('INVALID_REQUEST', 'team ids are 1-63 characters of a-z, 0-9, "_" or "-"');
    }
    if (this.store.getTeam(id)) throw new SandboxdError('INVALID_REQUEST', `team '${id}' exists already`);
    const team = { id, name: id, ...resolveLimits({ plan: 'base', ...plans.base }, change) };
    this.store.createTeam(team);
    return team;
  }

  updateTeam(id: string, change: TeamChange): Team {
    const current = this.store.getTeam(id);
    if (!current) throw new SandboxdError('INVALID_REQUEST', `no team '${id}'`);
    const team = { ...current, ...resolveLimits(current, change) };
    this.store.upsertTeam(team);
    return team;
  }

  /** A new key for the team; `rateLimitPerSecond` overrides the server default for this key. */
  createKey(teamId: string, rateLimitPerSecond?: number): string {
    if (!this.store.getTeam(teamId)) throw new SandboxdError('INVALID_REQUEST', `no team '${teamId}'`);
    if (rateLimitPerSecond !== undefined && !(rateLimitPerSecond > 0)) {
      throw new SandboxdError('INVALID_REQUEST', 'the rate limit must be a positive number of requests per second');
    }
    const key = generateApiKey();
    registerApiKey(this.store, teamId, key, { rateLimitPerSecond: rateLimitPerSecond ?? null });
    return key;
  }
}

/** A named plan resets the limits to its preset; explicit numbers then override (plan → `custom`). */
function resolveLimits(current: TeamLimits & { plan: string }, change: TeamChange): TeamLimits & { plan: string } {
  let next = { ...current };
  if (change.plan !== undefined) {
    if (!isPlanName(change.plan)) {
      throw new SandboxdError('INVALID_REQUEST', `plan must be one of ${Object.keys(plans).join(', ')}`);
    }
    next = { plan: change.plan, ...plans[change.plan] };
  }
  for (const [field, value] of [
    ['maxConcurrentSandboxes', change.maxConcurrentSandboxes],
    ['maxRuntimeSeconds', change.maxRuntimeSeconds],
    ['maxPausedSandboxes', change.maxPausedSandboxes],
    ['maxDiskMiB', change.maxDiskMiB],
  ] as const) {
    if (value === undefined) continue;
    if (!Number.isInteger(value) || value < 1) {
      throw new SandboxdError('INVALID_REQUEST', `${field} must be a whole number ≥ 1`);
    }
    next = { ...next, [field]: value, plan: 'custom' };
  }
  return next;
}
