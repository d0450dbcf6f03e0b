import { Sandbox } from 'e2b';
import { startTestServer } from '../tests/support/server-harness.js';
import { type BenchRow, percentile, timed } from './stats.js';

/**
 * Issue #5 end to end: `sbx.pause()` and `Sandbox.connect()` through the official SDK against a
 * real server (API, lifecycle, proxy, runc, CRIU), next to E2B's published figures (about 4 s per
 * GiB of memory to pause and about 1 s to resume). The runtime-only figures are in pause-resume.ts.
 */
const cycles = Number(process.env.BENCH_SDK_PAUSE_CYCLES ?? 8);
const e2bPauseMsPerGiB = 4_000;
const e2bResumeMs = 1_000;

async function cycle(
  sbx: Sandbox,
  label: string,
  rows: BenchRow[],
  samples: Record<string, number[]>,
  heapMiB: number,
) {
  const pauseMs: number[] = [];
  const resumeMs: number[] = [];
  for (let i = 0; i < cycles; i++) {
    pauseMs.push((await timed(() => sbx.pause())).ms);
    resumeMs.push((await timed(() => Sandbox.connect(sbx.sandboxId))).ms);
    // Something that must see the restored sandbox, outside the timing.
    await sbx.commands.run('true');
  }
  samples[`sdk pause ${label}`] = pauseMs;
  samples[`sdk resume ${label}`] = resumeMs;
  const e2bPause = heapMiB ? `≈${Math.round((heapMiB / 1024) * e2bPauseMsPerGiB)} ms` : '≈4 s per GiB of memory';
  rows.push({
    metric: `SDK pause(), ${label} p50`,
    value: percentile(pauseMs, 50),
    unit: 'ms',
    target: heapMiB ? '≤ 600 ms' : '≤ 300 ms',
    detail: `E2B published: ${e2bPause}`,
  });
  rows.push({
    metric: `SDK connect() resume, ${label} p50`,
    value: percentile(resumeMs, 50),
    unit: 'ms',
    target: heapMiB ? '≤ 800 ms' : '≤ 300 ms',
    detail: `E2B published: ≈${e2bResumeMs} ms`,
  });
}

export async function measureSdkPauseResume(rows: BenchRow[], samples: Record<string, number[]>): Promise<void> {
  const server = await startTestServer({ env: { SANDBOXD_WARM_POOL: '0' } });
  server.useForE2b();
  try {
    const idle = await Sandbox.create({ timeoutMs: 600_000 });
    await cycle(idle, 'idle', rows, samples, 0);
    await idle.kill();

    const busy = await Sandbox.create({ timeoutMs: 600_000 });
    await busy.commands.run(
      `python3 -c "import os,time; b=os.urandom(200<<20); open('/tmp/ready','w').close(); time.sleep(3600)"`,
      { background: true, timeoutMs: 0 },
    );
    await busy.commands.run('for i in $(seq 200); do [ -e /tmp/ready ] && exit 0; sleep 0.05; done; exit 1');
    await cycle(busy, '200 MiB heap', rows, samples, 200);
    await busy.kill();
  } finally {
    await server.stop();
  }
}
