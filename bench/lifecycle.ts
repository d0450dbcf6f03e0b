import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import { newSandboxId } from '@sandboxd/common';
import { openApiFixture } from '../packages/server/src/testing/api-fixture.js';
import { createdEvent, sampleRecord } from '../packages/server/src/testing/sample-record.js';
import { createCommand, openServiceFixture, testTeam } from '../packages/server/src/testing/service-fixture.js';
import type { BenchRow } from './stats.js';
import { percentile } from './stats.js';

/**
 * Issue #3 figures, measured on the real API stack and the real SQLite store (no sandboxes: the
 * runtime is the in-memory one, so these isolate the control plane's own cost).
 *
 * - Listing: 10 000 running rows (plus 20 000 killed ones, which the partial index must skip),
 *   pages fetched over loopback HTTP exactly as the SDK asks for them.
 * - Expiry: 1 000 sandboxes whose deadlines fall within the same 3 s, one scheduler; lateness is
 *   the time from endAt to the moment the sandbox stops being routed.
 */
export async function measureListing(rows: BenchRow[], samples: Record<string, number[]>): Promise<void> {
  const team = { ...testTeam, maxConcurrentSandboxes: 1_000_000 };
  const api = openApiFixture({ teams: [team] });
  const server = http.createServer(getRequestListener(api.app.fetch));
  try {
    const base = Date.now() - 3_600_000;
    const insert = (i: number, state: 'running' | 'killed') => {
      const row = sampleRecord(newSandboxId(), {
        teamId: team.id,
        state,
        metadata: { env: i % 2 ? 'dev' : 'prod', user: String(i % 100) },
        startedAt: base + i,
        runtimeStartedAt: base + i,
        endAt: base + 7_200_000,
      });
      api.store.insertSandbox(row, createdEvent(row));
    };
    for (let i = 0; i < 20_000; i++) insert(i, 'killed');
    for (let i = 0; i < 10_000; i++) insert(i, 'running');

    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const get = async (path: string) => {
      const res = await fetch(`${url}${path}`, { headers: { 'x-api-key': api.apiKey } });
      const body = await res.text();
      if (res.status !== 200) throw new Error(`${path}: ${res.status} ${body}`);
      return res.headers.get('x-next-token');
    };
    const time = async (label: string, path: () => Promise<string>, count = 200) => {
      for (let i = 0; i < 10; i++) await get(await path()); // warm-up
      const ms: number[] = [];
      for (let i = 0; i < count; i++) {
        const p = await path();
        const start = performance.now();
        await get(p);
        ms.push(performance.now() - start);
      }
      samples[label] = ms;
      return ms;
    };
    const first = await time('list first page', async () => '/v2/sandboxes');
    rows.push({
      metric: 'list page (100 of 10 000 rows) p50',
      value: percentile(first, 50),
      unit: 'ms',
      target: '≤ 10 ms',
    });
    rows.push({ metric: 'list page (100 of 10 000 rows) p95', value: percentile(first, 95), unit: 'ms' });
    // A cursor deep into the listing: the keyset query must not scan what came before.
    let token: string | null = null;
    for (let page = 0; page < 60; page++) token = await get(`/v2/sandboxes${token ? `?nextToken=${token}` : ''}`);
    const deep = await time('list page 61', async () => `/v2/sandboxes?nextToken=${token}`);
    rows.push({ metric: 'list page 61 via nextToken p50', value: percentile(deep, 50), unit: 'ms' });
    const filtered = await time(
      'list metadata filter',
      async () => `/v2/sandboxes?metadata=${encodeURIComponent('user=42&env=prod')}`,
    );
    rows.push({
      metric: 'list with metadata filter p50',
      value: percentile(filtered, 50),
      unit: 'ms',
      detail: '100 matches among 10 000',
    });
    const v1 = await time('v1 list all', async () => '/sandboxes', 20);
    rows.push({ metric: 'v1 GET /sandboxes (all 10 000) p50', value: percentile(v1, 50), unit: 'ms' });
  } finally {
    server.close();
    await api.close();
  }
}

export async function measureExpiry(rows: BenchRow[], samples: Record<string, number[]>): Promise<void> {
  const lateness: number[] = [];
  const team = { ...testTeam, maxConcurrentSandboxes: 100_000 };
  const fixture = openServiceFixture({ teams: [team], hooks: { expired: (ms) => lateness.push(ms) } });
  try {
    const count = 1_000;
    for (let i = 0; i < count; i++) {
      // Timeouts of 2–4 s, in whole seconds as the API takes them, created over ~1 s.
      await fixture.service.create(team, { ...createCommand, timeoutSeconds: 2 + (i % 3) });
    }
    const deadline = Date.now() + 10_000;
    while (lateness.length < count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    if (lateness.length < count) throw new Error(`only ${lateness.length} of ${count} sandboxes expired`);
    samples['expiry lateness'] = lateness;
    rows.push({ metric: `expiry lateness, ${count} deadlines p50`, value: percentile(lateness, 50), unit: 'ms' });
    rows.push({
      metric: `expiry lateness, ${count} deadlines p99`,
      value: percentile(lateness, 99),
      unit: 'ms',
      target: '≤ 1000 ms',
    });
    rows.push({ metric: `expiry lateness, ${count} deadlines max`, value: Math.max(...lateness), unit: 'ms' });
  } finally {
    await fixture.close();
  }
}
