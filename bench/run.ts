import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Sandbox } from 'e2b';
import { startTestServer } from '../tests/support/server-harness.js';
import { measureCodeInterpreter } from './code-interpreter.js';
import { measureFiles } from './files.js';
import { measureExpiry, measureListing } from './lifecycle.js';
import { measureNoisyNeighbour } from './noisy-neighbour.js';
import { measurePauseResume } from './pause-resume.js';
import { measureSdkPauseResume } from './pause-sdk.js';
import { type BenchRow, percentile, timed } from './stats.js';

/**
 * `npm run bench`: measures this machine and prints a table next to the targets of the issues;
 * writes the raw figures as JSON under bench/results/. Never part of `npm test`: these machines
 * are shared and noisy, so figures are for comparison side by side within one run.
 *
 * Create is measured twice in the same run: cold (warm pool off: runc + envd start on the request
 * path) and warm (the default pool of 2, with a pause between creates long enough for the pool to
 * refill, i.e. the steady state of a client that does not create in a tight loop).
 *
 * `npm run bench -- pause` runs only the runtime pause/resume figures (issue #5, pause-resume.ts).
 * `npm run bench -- code-interpreter` runs only the code-interpreter figures (issue #10, code-interpreter.ts).
 * `npm run bench -- noisy` runs only a sandbox's latency beside an abusive neighbour (noisy-neighbour.ts).
 */

const createCount = Number(process.env.BENCH_CREATES ?? 20);
const runCount = Number(process.env.BENCH_RUNS ?? 100);
const rows: BenchRow[] = [];
const samples: Record<string, number[]> = {};

async function measureCreates(label: string, poolSize: number, pauseMs: number): Promise<void> {
  const server = await startTestServer({ env: { SANDBOXD_WARM_POOL: String(poolSize) } });
  server.useForE2b();
  try {
    await (await Sandbox.create()).kill(); // warm-up: page cache for template, node and envd
    const createMs: number[] = [];
    const killMs: number[] = [];
    for (let i = 0; i < createCount; i++) {
      if (pauseMs) await new Promise((r) => setTimeout(r, pauseMs));
      const { ms, value: sbx } = await timed(() => Sandbox.create());
      createMs.push(ms);
      killMs.push((await timed(() => sbx.kill())).ms);
    }
    samples[`create ${label}`] = createMs;
    samples[`kill ${label}`] = killMs;
    const target = label === 'cold' ? '≤ 150 ms' : undefined;
    rows.push({
      metric: `Sandbox.create ${label} p50`,
      value: percentile(createMs, 50),
      unit: 'ms',
      ...(target ? { target } : {}),
    });
    rows.push({ metric: `Sandbox.create ${label} p95`, value: percentile(createMs, 95), unit: 'ms' });
    rows.push({ metric: `sandbox.kill (${label} server) p50`, value: percentile(killMs, 50), unit: 'ms' });
  } finally {
    await server.stop();
  }
}

/** Rss, Pss and private anonymous memory of envd (the `node` process; its parent tini also names envd.mjs). */
async function envdMemory(sbx: Sandbox): Promise<{ rss: number; pss: number; anon: number }> {
  const out = await sbx.commands.run(
    `pid=$(ps -eo pid=,comm= | awk '$2=="node"{print $1; exit}'); grep -E '^(Rss|Pss|Anonymous):' /proc/$pid/smaps_rollup | awk '{print $2}'`,
    { user: 'root' },
  );
  const [rss, pss, anon] = out.stdout
    .trim()
    .split('\n')
    .map((kb) => Number(kb) / 1024);
  return { rss: rss ?? Number.NaN, pss: pss ?? Number.NaN, anon: anon ?? Number.NaN };
}

async function measureCommandsAndMemory(): Promise<void> {
  const server = await startTestServer({ env: { SANDBOXD_WARM_POOL: '0' } });
  server.useForE2b();
  try {
    const sbx = await Sandbox.create();
    await new Promise((r) => setTimeout(r, 3_000));
    const idle = await envdMemory(sbx);
    rows.push({
      metric: 'envd idle RSS',
      value: idle.rss,
      unit: 'MB',
      target: '≤ 40 MB',
      detail: 'incl. ~40 MB of node binary text, shared by all sandboxes',
    });
    rows.push({
      metric: 'envd idle PSS',
      value: idle.pss,
      unit: 'MB',
      detail: 'its proportional share of host memory',
    });
    rows.push({
      metric: 'envd idle private anon',
      value: idle.anon,
      unit: 'MB',
      detail: 'what each extra sandbox really costs',
    });

    await sbx.commands.run('true');
    const runMs: number[] = [];
    for (let i = 0; i < runCount; i++) runMs.push((await timed(() => sbx.commands.run('true'))).ms);
    samples["commands.run('true')"] = runMs;
    rows.push({ metric: "commands.run('true') p50", value: percentile(runMs, 50), unit: 'ms', target: '≤ 10 ms' });
    rows.push({ metric: "commands.run('true') p95", value: percentile(runMs, 95), unit: 'ms' });

    await new Promise((r) => setTimeout(r, 3_000));
    const after = await envdMemory(sbx);
    rows.push({ metric: `envd RSS after ${runCount} commands`, value: after.rss, unit: 'MB' });
    rows.push({ metric: `envd private anon after ${runCount} commands`, value: after.anon, unit: 'MB' });
    await sbx.kill();
  } finally {
    await server.stop();
  }
}

/** Sections by name: `npm run bench -- lifecycle` runs only that one; no argument runs all. */
const sections: Record<string, () => Promise<void>> = {
  create: async () => {
    await measureCreates('cold', 0, 0);
    await measureCreates('warm', 2, 400);
  },
  commands: measureCommandsAndMemory,
  files: () => measureFiles(rows, samples),
  lifecycle: async () => {
    await measureListing(rows, samples);
    await measureExpiry(rows, samples);
  },
  pause: async () => {
    await measurePauseResume(rows, samples);
    await measureSdkPauseResume(rows, samples);
  },
  'code-interpreter': () => measureCodeInterpreter(rows, samples),
  noisy: () => measureNoisyNeighbour(rows, samples),
};

async function main(): Promise<void> {
  const chosen = process.argv.slice(2);
  const unknown = chosen.filter((name) => !(name in sections));
  if (unknown.length > 0)
    throw new Error(`unknown bench section(s) ${unknown.join(', ')}; known: ${Object.keys(sections).join(', ')}`);
  const loadBefore = os.loadavg();
  for (const [name, run] of Object.entries(sections)) if (chosen.length === 0 || chosen.includes(name)) await run();
  // Shared machines: the load says how much else was running while these figures were taken.
  const load = { before: loadBefore, after: os.loadavg() };

  const machine = `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Linux ${os.release()}`;
  const loadText = (l: number[]) => l.map((v) => v.toFixed(2)).join(' ');
  process.stdout.write(`\nsandboxd benchmark — ${machine}\n`);
  process.stdout.write(
    `load average (1/5/15 min): ${loadText(load.before)} at start, ${loadText(load.after)} at end\n\n`,
  );
  const w = Math.max(...rows.map((r) => r.metric.length));
  for (const r of rows) {
    const value = `${r.value.toFixed(r.value < 10 ? 2 : 1)} ${r.unit}`;
    const target = r.target ? `target ${r.target}` : '';
    process.stdout.write(
      `  ${r.metric.padEnd(w)}  ${value.padStart(10)}  ${target.padEnd(16)}${r.detail ? `  ${r.detail}` : ''}\n`,
    );
  }
  const outDir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'results');
  fs.mkdirSync(outDir, { recursive: true });
  const outFile = path.join(outDir, `bench-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  fs.writeFileSync(
    outFile,
    `${JSON.stringify({ machine, load, date: new Date().toISOString(), rows, samples }, null, 2)}\n`,
  );
  process.stdout.write(`\nraw figures: ${path.relative(process.cwd(), outFile)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
