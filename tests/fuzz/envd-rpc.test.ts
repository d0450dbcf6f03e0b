import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type DescMethod, type DescService, fromJson, toBinary } from '@bufbuild/protobuf';
import { Filesystem, Process } from '@sandboxd/protocol';
import { needsSandboxHost } from '@sandboxd/runtime/testing';
import fc from 'fast-check';
import { useEnvdFixture } from '../support/envd-fixture.js';
import { messageJson } from '../support/proto-arbitrary.js';

// Property-based fuzzing of envd's Connect RPC and HTTP surface inside a real sandbox, through
// the server's proxy as a tenant reaches it: generated messages of every method (JSON and binary,
// unary and streamed), raw garbage bodies, and random /files queries. The property: an answer is
// a clear client error or a success — never an HTTP 5xx from envd, never a Connect `internal`,
// `unknown` or `data_loss` — and envd keeps serving. Bounded by SANDBOXD_FUZZ_SECONDS (default 20 s).

/** Connect codes that mean the server broke, not that the request was refused. */
const brokenCodes = new Set(['internal', 'unknown', 'data_loss']);
const budgetMs = Number(process.env.SANDBOXD_FUZZ_SECONDS ?? 20) * 1000;
const seed = Number(process.env.SANDBOXD_FUZZ_SEED ?? 20261203);

const methods: Array<{ service: DescService; method: DescMethod }> = [Filesystem, Process].flatMap((service) =>
  service.methods.map((method) => ({ service, method })),
);

interface Outcome {
  method: string;
  status: number;
  code?: string;
}

/** One Connect stream envelope: flags 0, a big-endian length, the message. */
function frame(payload: Uint8Array | string): Buffer {
  const bytes = Buffer.from(payload);
  const header = Buffer.alloc(5);
  header.writeUInt32BE(bytes.length, 1);
  return Buffer.concat([header, bytes]);
}

/** The Connect error code in an unary error body or a stream's end message, if any. */
function connectCode(contentType: string, body: Buffer): string | undefined {
  try {
    if (contentType.startsWith('application/connect+')) {
      // Streamed: the end-of-stream envelope (flag 2) is last; its JSON carries `error`.
      for (let at = 0; at + 5 <= body.length; ) {
        const flags = body.readUInt8(at);
        const length = body.readUInt32BE(at + 1);
        if (flags & 2) {
          const end = JSON.parse(body.subarray(at + 5, at + 5 + length).toString()) as { error?: { code?: string } };
          return end.error?.code;
        }
        at += 5 + length;
      }
      return undefined;
    }
    if (contentType.startsWith('application/json')) return (JSON.parse(body.toString()) as { code?: string }).code;
  } catch {
    return 'unparseable';
  }
  return undefined;
}

describe('envd fuzzing (fast-check, Connect RPC and /files)', needsSandboxHost, () => {
  const f = useEnvdFixture();
  const outcomes: Outcome[] = [];

  async function send(path: string, init: RequestInit & { headers: Record<string, string> }): Promise<Outcome> {
    // Streams of a command that runs on (a generated `yes`) are cut: a long answer is not a hang.
    const res = await fetch(`${f.server.url}${path}`, {
      ...init,
      headers: { ...f.headers, 'connect-protocol-version': '1', 'connect-timeout-ms': '3000', ...init.headers },
      signal: AbortSignal.timeout(5000),
    });
    const body = Buffer.from(await res.arrayBuffer().catch(() => new ArrayBuffer(0)));
    const code = connectCode(res.headers.get('content-type') ?? '', body);
    const outcome: Outcome = { method: path, status: res.status, ...(code ? { code } : {}) };
    outcomes.push(outcome);
    return outcome;
  }

  const healthy = (o: Outcome) => o.status < 500 && !(o.code && brokenCodes.has(o.code));

  test('generated messages of every method, as JSON and as binary', async () => {
    const arbitrary = fc.oneof(
      ...methods.map(({ service, method }) =>
        fc.record({
          path: fc.constant(`/${service.typeName}/${method.name}`),
          kind: fc.constant(method.methodKind),
          schema: fc.constant(method.input),
          json: messageJson(method.input),
          binary: fc.boolean(),
        }),
      ),
    );
    await fc.assert(
      fc.asyncProperty(arbitrary, async (c) => {
        let payload: Uint8Array | string;
        let binary = c.binary;
        if (binary) {
          try {
            payload = toBinary(c.schema, fromJson(c.schema, c.json as never, { ignoreUnknownFields: true }));
          } catch {
            binary = false; // a JSON form protobuf itself refuses (e.g. an out-of-range int): sent as JSON
            payload = JSON.stringify(c.json);
          }
        } else payload = JSON.stringify(c.json);
        const streamed = c.kind !== 'unary';
        const body = streamed ? frame(payload) : payload;
        const type = `application/${streamed ? 'connect+' : ''}${binary ? 'proto' : 'json'}`;
        const o = await send(c.path, { method: 'POST', headers: { 'content-type': type }, body });
        assert.ok(healthy(o), `${c.path} ${JSON.stringify(c.json)} → ${o.status} ${o.code ?? ''}`);
      }),
      { seed, numRuns: 100_000, interruptAfterTimeLimit: budgetMs * 0.6, markInterruptAsFailure: false },
    );
  });

  test('garbage bodies and content types, and random /files queries', async () => {
    const garbage = fc.record({
      path: fc.oneof(
        fc.constantFrom(...methods.map(({ service, method }) => `/${service.typeName}/${method.name}`)),
        fc.constantFrom('/process.Process/Nope', '/filesystem.Filesystem/', '/x.Y/Z'),
      ),
      type: fc.constantFrom(
        'application/json',
        'application/proto',
        'application/connect+json',
        'application/connect+proto',
        'text/plain',
        '',
      ),
      body: fc.oneof(
        fc.uint8Array({ maxLength: 200 }),
        fc.json().map((j) => new TextEncoder().encode(j)),
      ),
    });
    const files = fc.record({
      method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE'),
      query: fc.dictionary(fc.constantFrom('path', 'username', 'signature', 'signature_expiration', 'x'), fc.string(), {
        maxKeys: 4,
      }),
      body: fc.option(fc.uint8Array({ maxLength: 200 }), { nil: undefined }),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          garbage.map((g) => ({ g })),
          files.map((q) => ({ q })),
        ),
        async (c) => {
          const o =
            'g' in c
              ? await send(c.g.path, { method: 'POST', headers: { 'content-type': c.g.type }, body: c.g.body })
              : await send(`/files?${new URLSearchParams(c.q.query)}`, {
                  method: c.q.method,
                  headers: {},
                  ...(c.q.body && c.q.method !== 'GET' ? { body: c.q.body } : {}),
                });
          assert.ok(healthy(o), `${JSON.stringify(c)} → ${o.status} ${o.code ?? ''}`);
        },
      ),
      { seed, numRuns: 100_000, interruptAfterTimeLimit: budgetMs * 0.4, markInterruptAsFailure: false },
    );
  });

  test('afterwards envd still serves, and every request got an answer', async () => {
    assert.ok(outcomes.length > 200, `the fuzzer ran (${outcomes.length} requests)`);
    const byStatus = new Map<number, number>();
    for (const o of outcomes) byStatus.set(o.status, (byStatus.get(o.status) ?? 0) + 1);
    process.stdout.write(
      `# envd fuzz: ${outcomes.length} requests, statuses ${JSON.stringify(Object.fromEntries(byStatus))}\n`,
    );
    assert.equal((await fetch(`${f.server.url}/health`, { headers: f.headers })).status, 204);
    // From `/`: the fuzzer may have moved or removed the user's home, as the user may.
    const r = await f.sbx.commands.run('echo alive', { cwd: '/' });
    assert.equal(r.stdout, 'alive\n');
  });
});
