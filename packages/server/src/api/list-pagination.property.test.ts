import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SandboxRecord } from '../store/store.js';
import { openApiFixture } from '../testing/api-fixture.js';
import { createCommand, testTeam } from '../testing/service-fixture.js';

/** mulberry32: a tiny seeded PRNG, so a failing case can be replayed from its seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The `metadata` query exactly as the e2b SDK builds it (encoded three times, see list-query.ts). */
function sdkMetadataQuery(metadata: Record<string, string>): string {
  const pairs = Object.fromEntries(
    Object.entries(metadata).map(([k, v]) => [encodeURIComponent(k), encodeURIComponent(v)]),
  );
  return encodeURIComponent(new URLSearchParams(pairs).toString());
}

const team = { ...testTeam, maxConcurrentSandboxes: 100_000 };
const metadataDomain: Record<string, string[]> = {
  env: ['dev', 'prod'],
  user: ['1', '2', '3'],
  'a b&c=d%': ['x y', 'x+y', '%41'],
};

interface Listed {
  sandboxID: string;
  startedAt: string;
  metadata: Record<string, string>;
}

// Issue #3: pagination is stable under concurrent creates and kills (no duplicates, no skips),
// and the metadata filter matches exactly, for random schedules (seeded, replayable).
test('list pages never duplicate or skip, whatever is created and killed between pages', async (t) => {
  for (let seed = 1; seed <= 40; seed++) {
    const random = prng(seed);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
    let now = 1_700_000_000_000;
    // Coarse, often equal timestamps: ties must be broken by id, not lost.
    const clock = { now: () => (now += Math.floor(random() * 2)) };
    const api = openApiFixture({ clock, teams: [team] });
    t.after(() => api.close());

    const alive = new Map<string, SandboxRecord>();
    const create = async () => {
      const metadata: Record<string, string> = {};
      for (const [key, values] of Object.entries(metadataDomain)) if (random() < 0.7) metadata[key] = pick(values);
      const record = await api.service.create(team, { ...createCommand, timeoutSeconds: 3600, metadata });
      alive.set(record.id, record);
    };
    const killOne = async () => {
      const id = pick([...alive.keys()]);
      if (id === undefined) return;
      alive.delete(id);
      await api.service.kill(team, id);
    };
    const initial = Math.floor(random() * 25);
    for (let i = 0; i < initial; i++) await create();

    const filter: Record<string, string> = {};
    for (const [key, values] of Object.entries(metadataDomain)) if (random() < 0.35) filter[key] = pick(values);
    const order = pick(['asc', 'desc'] as const);
    const limit = 1 + Math.floor(random() * 6);
    const matches = (m: Record<string, string>) => Object.entries(filter).every(([k, v]) => m[k] === v);
    const presentThroughout = new Set([...alive.values()].filter((r) => matches(r.metadata)).map((r) => r.id));

    const seen: Listed[] = [];
    let token: string | null = null;
    for (let page = 0; page < 200; page++) {
      const churn = Math.floor(random() * 4);
      for (let i = 0; i < churn; i++) {
        if (random() < 0.5) await create();
        else {
          const before = new Set(alive.keys());
          await killOne();
          for (const id of before) if (!alive.has(id)) presentThroughout.delete(id);
        }
      }
      const query = [
        `limit=${limit}`,
        `order=${order}`,
        'state=running',
        ...(Object.keys(filter).length ? [`metadata=${sdkMetadataQuery(filter)}`] : []),
        ...(token ? [`nextToken=${encodeURIComponent(token)}`] : []),
      ].join('&');
      const res = await api.request(`/v2/sandboxes?${query}`);
      assert.equal(res.status, 200, `seed ${seed}: ${await res.clone().text()}`);
      const items = (await res.json()) as Listed[];
      assert.ok(items.length <= limit, `seed ${seed}: page within limit`);
      seen.push(...items);
      token = res.headers.get('x-next-token');
      if (!token) break;
      assert.equal(items.length, limit, `seed ${seed}: only the last page may be short`);
    }
    assert.equal(token, null, `seed ${seed}: pagination ended`);

    const ids = seen.map((s) => s.sandboxID);
    assert.equal(new Set(ids).size, ids.length, `seed ${seed}: no sandbox appears twice`);
    for (const item of seen) assert.ok(matches(item.metadata), `seed ${seed}: every item matches the filter`);
    for (const id of presentThroughout) assert.ok(ids.includes(id), `seed ${seed}: ${id} (alive throughout) listed`);
    const keys = seen.map((s) => [Date.parse(s.startedAt), s.sandboxID] as const);
    for (let i = 1; i < keys.length; i++) {
      const [a, b] = [keys[i - 1], keys[i]] as [readonly [number, string], readonly [number, string]];
      const cmp = a[0] === b[0] ? a[1].localeCompare(b[1]) : a[0] - b[0];
      assert.ok(order === 'asc' ? cmp < 0 : cmp > 0, `seed ${seed}: items are in ${order} order`);
    }
    await api.close();
  }
});

const alphabet = [
  'a',
  'Z',
  '0',
  ' ',
  '%',
  '&',
  '=',
  '+',
  '?',
  '#',
  '/',
  ';',
  ',',
  '"',
  "'",
  'é',
  'ß',
  '日',
  '🙂',
  '\\',
];

test('metadata filters decode exactly what the SDK encodes, for random keys and values', async (t) => {
  const api = openApiFixture({ teams: [team] });
  t.after(() => api.close());
  const random = prng(4242);
  const word = () =>
    Array.from({ length: 1 + Math.floor(random() * 8) }, () => alphabet[Math.floor(random() * alphabet.length)]).join(
      '',
    );
  for (let i = 0; i < 60; i++) {
    const metadata = { [word()]: word(), [`k${i}`]: word() };
    const record = await api.service.create(team, { ...createCommand, metadata });
    const res = await api.request(`/v2/sandboxes?metadata=${sdkMetadataQuery(metadata)}`);
    assert.equal(res.status, 200);
    const listed = (await res.json()) as Listed[];
    assert.deepEqual(
      listed.map((s) => s.sandboxID),
      [record.id],
      `exact match for ${JSON.stringify(metadata)}`,
    );
    assert.deepEqual(listed[0]?.metadata, metadata);
    const [firstKey] = Object.keys(metadata) as [string];
    const miss = await api.request(
      `/v2/sandboxes?metadata=${sdkMetadataQuery({ ...metadata, [firstKey]: `${metadata[firstKey]}x` })}`,
    );
    assert.deepEqual(await miss.json(), [], 'a different value matches nothing');
    await api.service.kill(team, record.id);
  }
});
