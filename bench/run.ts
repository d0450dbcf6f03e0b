import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Sandbox } from 'e2b';
import { startTestServer } from '../tests/support/server-harness.js';
import { percentile, timed } from './stats.js';

/**
 * `npm run bench`: measures this machine and prints a table next to the targets of issue #2;
 * writes the raw figures as JSON under bench/results/. Never part of `npm test`: these machines
 * are shared and noisy, so numbers are for comparison within one run, not for assertions.
 */
interface Row {
  metric: string;
  value: number;
  unit: string;
  target?: string;
  detail?: string;
}

const createCount = Number(process.env.BENCH_CREATES ?? 20);
const runCount = Number(process.env.BENCH_RUNS ?? 100);

async function main(): Promise<void> {
  const server = await startTestServer();
  server.useForE2b();
  const rows: Row[] = [];
  const samples: Record<string, number[]> = {};
  try {
    // Warm-up: page cache for the template, node and envd; not measured.
    await (await Sandbox.create()).kill();

    const createMs: number[] = [];
    const killMs: number[] = [];
    for (let i = 0; i < createCount; i++) {
      const { ms, value: sbx } = await timed(() => Sandbox.create());
      createMs.push(ms);
      killMs.push((await timed(() => sbx.kill())).ms);
    }
    samples.createMs = createMs;
    samples.killMs = killMs;
    rows.push({ metric: 'Sandbox.create p50', value: percentile(createMs, 50), unit: 'ms', target: '≤ 150 ms' });
    rows.push({ metric: 'Sandbox.create p95', value: percentile(createMs, 95), unit: 'ms' });
    rows.push({ metric: 'sandbox.kill p50', value: percentile(killMs, 50), unit: 'ms' });

    const sbx = await Sandbox.create();
    try {
      await sbx.commands.run('true');
      const runMs: number[] = [];
      for (let i = 0; i < runCount; i++) runMs.push((await timed(() => sbx.commands.run('true'))).ms);
      samples.runMs = runMs;
      rows.push({ metric: "commands.run('true') p50", value: percentile(runMs, 50), unit: 'ms', target: '≤ 10 ms' });
      rows.push({ metric: "commands.run('true') p95", value: percentile(runMs, 95), unit: 'ms' });

      await new Promise((r) => setTimeout(r, 3_000));
      const mem = await sbx.commands.run(
        // envd is the `node` process (its parent, tini, also names envd.mjs in its arguments).
        `pid=$(ps -eo pid=,comm= | awk '$2=="node"{print $1; exit}'); grep -E '^(Rss|Pss|Anonymous):' /proc/$pid/smaps_rollup | awk '{print $2}'`,
        { user: 'root' },
      );
      const [rss, pss, anon] = mem.stdout.trim().split('\n').map(Number);
      rows.push({
        metric: 'envd idle RSS',
        value: (rss ?? Number.NaN) / 1024,
        unit: 'MB',
        target: '≤ 40 MB',
        detail: 'includes the shared node binary',
      });
      rows.push({
        metric: 'envd idle PSS',
        value: (pss ?? Number.NaN) / 1024,
        unit: 'MB',
        detail: 'proportional share',
      });
      rows.push({
        metric: 'envd idle anonymous',
        value: (anon ?? Number.NaN) / 1024,
        unit: 'MB',
        detail: 'private heap',
      });
    } finally {
      await sbx.kill();
    }
  } finally {
    await server.stop();
  }

  const machine = `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Linux ${os.release()}`;
  process.stdout.write(`\nsandboxd benchmark — ${machine}\n\n`);
  const w = Math.max(...rows.map((r) => r.metric.length));
  for (const r of rows) {
    const value = `${r.value.toFixed(r.value < 10 ? 2 : 1)} ${r.unit}`;
    process.stdout.write(
      `  ${r.metric.padEnd(w)}  ${value.padStart(10)}  ${r.target ? `target ${r.target}` : ''}${r.detail ? `  (${r.detail})` : ''}\n`,
    );
  }
  const outDir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'results');
  fs.mkdirSync(outDir, { recursive: true });
  const outFile = path.join(outDir, `bench-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  fs.writeFileSync(outFile, `${JSON.stringify({ machine, date: new Date().toISOString(), rows, samples }, null, 2)}\n`);
  process.stdout.write(`\nraw figures: ${path.relative(process.cwd(), outFile)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
