import { RateLimitError, Sandbox } from 'e2b';
import {
  type HostResources,
  hostResources,
  runcContainers,
  settledHostResources,
  slotClaimsOf,
} from '../tests/support/host-resources.js';
import type { TestServer } from '../tests/support/server-harness.js';
import { percentile, timed } from './stats.js';

/**
 * Many concurrent clients against one real server through the official SDK: each creates a
 * sandbox, runs commands and writes, reads and lists files in it a few times, kills it, and
 * starts again, until the time is up. A 429 (the team's concurrent limit or the key's rate
 * limit, after the SDK's own retries) is a correct answer under overload; anything else is an
 * error. Afterwards it counts what the sandboxes left on the host. Used by the CI load test
 * (tests/e2e/load.test.ts) and by `npm run soak`.
 */

export interface LoadOptions {
  clients: number;
  durationMs: number;
  /** Rounds of command + file work per sandbox before it is killed. */
  roundsPerSandbox?: number;
}

export interface LoadResult {
  ops: Record<string, number[]>;
  rateLimited: number;
  /** Kills answered 503 (teardown incomplete) and retried. */
  retriedKills: number;
  errors: string[];
  sandboxes: string[];
  leaks: Partial<Record<keyof HostResources | 'containers' | 'slots', string[]>>;
}

export async function runLoad(server: TestServer, o: LoadOptions): Promise<LoadResult> {
  const opts = { apiUrl: server.url, sandboxUrl: server.url, apiKey: server.apiKey, requestTimeoutMs: 120_000 };
  const result: LoadResult = { ops: {}, rateLimited: 0, retriedKills: 0, errors: [], sandboxes: [], leaks: {} };
  const record = async <T>(op: string, fn: () => Promise<T>): Promise<T> => {
    const { ms, value } = await timed(fn);
    const samples = result.ops[op] ?? [];
    samples.push(ms);
    result.ops[op] = samples;
    return value;
  };
  const end = Date.now() + o.durationMs;
  const vethsBefore = new Set(hostResources(server.dataDir).veths);

  const client = async (n: number) => {
    while (Date.now() < end) {
      let sbx: Sandbox | undefined;
      try {
        sbx = await record('create', () => Sandbox.create({ ...opts, timeoutMs: 600_000 }));
        result.sandboxes.push(sbx.sandboxId);
        for (let round = 0; round < (o.roundsPerSandbox ?? 3); round++) {
          const text = `client ${n} round ${round}`;
          const run = await record('commands.run', () => (sbx as Sandbox).commands.run(`echo "${text}"`));
          if (run.stdout !== `${text}\n`) throw new Error(`command answered ${JSON.stringify(run.stdout)}`);
          await record('files.write', () => (sbx as Sandbox).files.write(`/tmp/load/${round}.txt`, text));
          const back = await record('files.read', () => (sbx as Sandbox).files.read(`/tmp/load/${round}.txt`));
          if (back !== text) throw new Error(`file read back ${JSON.stringify(back)}`);
          await record('files.list', () => (sbx as Sandbox).files.list('/tmp/load'));
        }
      } catch (err) {
        if (err instanceof RateLimitError) result.rateLimited++;
        else result.errors.push(`client ${n}: ${(err as Error).name}: ${(err as Error).message}`);
        await new Promise((r) => setTimeout(r, 250));
      } finally {
        if (sbx) await killAsAClientShould(sbx, n);
      }
    }
  };
  /** A 503 (teardown incomplete, Retry-After) is retried, as its answer asks; a 429 counts as such. */
  const killAsAClientShould = async (sbx: Sandbox, n: number) => {
    for (let attempt = 1; ; attempt++) {
      try {
        await record('kill', () => sbx.kill());
        return;
      } catch (err) {
        if (err instanceof RateLimitError) {
          result.rateLimited++;
          return;
        }
        const retryable = /temporarily unavailable/i.test((err as Error).message);
        if (!retryable || attempt === 3) {
          result.errors.push(`client ${n} kill: ${(err as Error).message}`);
          return;
        }
        result.retriedKills++;
        await new Promise((r) => setTimeout(r, 2000));
      }
    }
  };
  await Promise.all(Array.from({ length: o.clients }, (_, i) => client(i)));
  // What a refused kill (429) left running is killed now, then the host is counted.
  for (let page = 0; page < 20; page++) {
    const list = (await (await server.api('GET', '/v2/sandboxes?state=running,paused')).json()) as Array<{
      sandboxID: string;
    }>;
    if (list.length === 0) break;
    for (const s of list) await server.api('DELETE', `/sandboxes/${s.sandboxID}`);
  }
  result.leaks = await leftOnHost(server, result.sandboxes, vethsBefore);
  return result;
}

/** A warm pool keeps sandboxes (and veths) of its own: run with SANDBOXD_WARM_POOL=0 for exact counts. */
async function leftOnHost(server: TestServer, ids: string[], vethsBefore: Set<string>): Promise<LoadResult['leaks']> {
  const left = await settledHostResources(server.dataDir, ids);
  const own = (items: string[]) => items.filter((item) => ids.some((id) => item.includes(id)));
  return {
    containers: runcContainers(server.dataDir),
    processes: left.processes,
    netns: left.netns,
    mounts: left.mounts,
    loopDevices: left.loopDevices,
    cgroups: own(left.cgroups),
    veths: left.veths.filter((v) => !vethsBefore.has(v)),
    slots: slotClaimsOf(ids),
  };
}

/** p50/p95/p99 per operation, for a table. */
export function latencyTable(
  r: LoadResult,
): Array<{ op: string; count: number; p50: number; p95: number; p99: number }> {
  return Object.entries(r.ops).map(([op, ms]) => ({
    op,
    count: ms.length,
    p50: percentile(ms, 50),
    p95: percentile(ms, 95),
    p99: percentile(ms, 99),
  }));
}

export function leakCount(r: LoadResult): number {
  return Object.values(r.leaks).reduce((n, items) => n + (items?.length ?? 0), 0);
}
