import { Sandbox } from 'e2b';
import { startTestServer } from '../tests/support/server-harness.js';
import { type BenchRow, percentile, timed } from './stats.js';

/**
 * Issue #12 finding 3: how much one sandbox's abuse slows another's commands. A victim sandbox's
 * `commands.run('true')` latency is measured while its neighbour is idle, then while the
 * neighbour runs a fork bomb, then a CPU hog (one busy loop per core, twice over) — in the same
 * run on the same server, so the ratios compare like with like on a shared machine.
 */
const runs = Number(process.env.BENCH_NOISY_RUNS ?? 60);

const abuses: Record<string, string> = {
  // The classic: every process forks two more until the pids limit refuses; they keep trying.
  'fork bomb': "bash -c 'b() { b | b & }; b' >/dev/null 2>&1 &",
  'CPU hog': `for i in $(seq ${2 * 4}); do (while :; do :; done) & done`,
};

async function victimLatency(victim: Sandbox): Promise<number[]> {
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    const { ms: took } = await timed(() => victim.commands.run('true', { requestTimeoutMs: 60_000 }));
    ms.push(took);
  }
  return ms;
}

export async function measureNoisyNeighbour(rows: BenchRow[], samples: Record<string, number[]>): Promise<void> {
  const server = await startTestServer({ env: { SANDBOXD_WARM_POOL: '0' } });
  server.useForE2b();
  try {
    const victim = await Sandbox.create();
    await victimLatency(victim); // warm-up
    const quiet = await victimLatency(victim);
    samples['neighbour idle'] = quiet;
    const base = percentile(quiet, 95);
    rows.push({ metric: "victim commands.run('true'), neighbour idle p50", value: percentile(quiet, 50), unit: 'ms' });
    rows.push({ metric: "victim commands.run('true'), neighbour idle p95", value: base, unit: 'ms' });
    for (const [name, script] of Object.entries(abuses)) {
      const noisy = await Sandbox.create();
      try {
        await noisy.commands.run(script, { background: true, timeoutMs: 0 });
        await new Promise((r) => setTimeout(r, 3000)); // let it reach its worst
        const loaded = await victimLatency(victim);
        samples[`neighbour ${name}`] = loaded;
        const p95 = percentile(loaded, 95);
        rows.push({ metric: `victim, neighbour ${name} p50`, value: percentile(loaded, 50), unit: 'ms' });
        rows.push({
          metric: `victim, neighbour ${name} p95`,
          value: p95,
          unit: 'ms',
          detail: `${(p95 / base).toFixed(1)}× idle p95`,
        });
        rows.push({ metric: `victim, neighbour ${name} max`, value: Math.max(...loaded), unit: 'ms' });
      } finally {
        await noisy.kill();
      }
    }
    await victim.kill();
  } finally {
    await server.stop();
  }
}
