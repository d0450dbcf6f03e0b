import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Sandbox as CodeInterpreter } from '@e2b/code-interpreter';
import { isTemplateBuilt } from '@sandboxd/runtime';
import { loadConfig } from '@sandboxd/server';
import { Sandbox } from 'e2b';
import { startTestServer, type TestServer } from '../tests/support/server-harness.js';
import { type BenchRow, percentile, timed } from './stats.js';

/**
 * Issue #10: `Sandbox.create()` of `@e2b/code-interpreter` (template code-interpreter-v1, whose
 * create returns only once the server on 49999 answers) and a `runCode('1+1')` round trip, beside
 * a `base` create and `commands.run('true')` measured on the same server in the same run.
 *
 * The warm pool is off, so every create is on the request path: a restore of the template's
 * ready snapshot when it has one, else a cold boot. Which path each create took is read from the
 * server's log and printed in the row's label.
 */
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const createCount = Number(process.env.BENCH_CI_CREATES ?? 10);
const runCount = Number(process.env.BENCH_CI_RUNS ?? 50);

/** 'ready snapshot', 'cold boot' or 'mixed …', from what the server logged for these sandboxes. */
function createPath(server: TestServer, ids: string[]): string {
  const restored = ids.filter((id) =>
    server.logs.some((line) => line.includes(id) && /restor/i.test(line) && !/fail|fall/i.test(line)),
  );
  if (restored.length === ids.length) return 'ready snapshot';
  if (restored.length === 0) return 'cold boot';
  return `mixed: ${restored.length}/${ids.length} from the ready snapshot`;
}

async function createSeries(
  create: () => Promise<{ sandboxId: string; kill(): Promise<unknown> }>,
): Promise<{ ms: number[]; ids: string[] }> {
  await (await create()).kill(); // warm-up: page cache for the template and the interpreter
  const ms: number[] = [];
  const ids: string[] = [];
  for (let i = 0; i < createCount; i++) {
    const { ms: took, value: sbx } = await timed(create);
    ms.push(took);
    ids.push(sbx.sandboxId);
    await sbx.kill();
  }
  return { ms, ids };
}

export async function measureCodeInterpreter(rows: BenchRow[], samples: Record<string, number[]>): Promise<void> {
  const { templatesDir } = loadConfig({ env: process.env, argv: [], repoRoot });
  if (!(await isTemplateBuilt(templatesDir, 'code-interpreter-v1'))) {
    process.stderr.write(
      'code-interpreter section skipped: code-interpreter-v1 is not built (sandboxd template build code-interpreter-v1)\n',
    );
    return;
  }
  const server = await startTestServer({ env: { SANDBOXD_WARM_POOL: '0' } });
  server.useForE2b();
  try {
    // The server finds code-interpreter-v1's ready snapshot in the machine's store (set-up made it)
    // or makes it at start-up; creates before it boot cold.
    const snapshotDone = () => server.logs.some((l) => /ready snapshots (current|not made)/.test(l));
    for (let i = 0; i < 1800 && !snapshotDone(); i++) await new Promise((r) => setTimeout(r, 100));
    const base = await createSeries(() => Sandbox.create('base'));
    samples['create base (pool off)'] = base.ms;
    rows.push({ metric: 'Sandbox.create base, pool off p50', value: percentile(base.ms, 50), unit: 'ms' });
    rows.push({ metric: 'Sandbox.create base, pool off p95', value: percentile(base.ms, 95), unit: 'ms' });

    const ci = await createSeries(() => CodeInterpreter.create());
    const path = createPath(server, ci.ids);
    samples['create code-interpreter-v1 (pool off)'] = ci.ms;
    rows.push({
      metric: 'Sandbox.create code-interpreter-v1 p50',
      value: percentile(ci.ms, 50),
      unit: 'ms',
      detail: `${path}, pool off; create returns once :49999 answers`,
    });
    rows.push({ metric: 'Sandbox.create code-interpreter-v1 p95', value: percentile(ci.ms, 95), unit: 'ms' });

    const sbx = await CodeInterpreter.create();
    try {
      const first = await timed(() => sbx.runCode('1+1'));
      if (first.value.text !== '2') throw new Error(`runCode('1+1') answered ${JSON.stringify(first.value.text)}`);
      rows.push({ metric: "first runCode('1+1') after create", value: first.ms, unit: 'ms' });
      const runMs: number[] = [];
      for (let i = 0; i < runCount; i++) runMs.push((await timed(() => sbx.runCode('1+1'))).ms);
      samples["runCode('1+1')"] = runMs;
      rows.push({ metric: "runCode('1+1') p50", value: percentile(runMs, 50), unit: 'ms' });
      rows.push({ metric: "runCode('1+1') p95", value: percentile(runMs, 95), unit: 'ms' });

      await sbx.commands.run('true');
      const cmdMs: number[] = [];
      for (let i = 0; i < runCount; i++) cmdMs.push((await timed(() => sbx.commands.run('true'))).ms);
      samples["commands.run('true') in code-interpreter-v1"] = cmdMs;
      rows.push({
        metric: "commands.run('true') p50, code-interpreter-v1",
        value: percentile(cmdMs, 50),
        unit: 'ms',
        detail: 'same sandbox as runCode',
      });
      rows.push({
        metric: "commands.run('true') p95, code-interpreter-v1",
        value: percentile(cmdMs, 95),
        unit: 'ms',
      });
    } finally {
      await sbx.kill();
    }
  } finally {
    await server.stop();
  }
}
