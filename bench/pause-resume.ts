import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createClient } from '@connectrpc/connect';
import { createConnectTransport } from '@connectrpc/connect-web';
import { createLogger, newSandboxId } from '@sandboxd/common';
import { ENVD_PORT, encodeEnvdBootConfig, Process } from '@sandboxd/protocol';
import { RuncRuntime, type SandboxEndpoint } from '@sandboxd/runtime';
import { type BenchRow, percentile, timed } from './stats.js';

/**
 * Raw runtime pause/resume (issue #5), below the API: RuncRuntime with the real envd bundle and
 * the server's default limits, images and disk in a data dir on the host's disk (fsynced, as in
 * production). Two workloads: an idle sandbox, and one holding 200 MiB of live heap in a python
 * process started through envd (so it is a descendant of PID 1 and gets checkpointed).
 */
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const envdBundlePath = path.join(repoRoot, 'packages/envd/dist/envd.mjs');
const limits = { cpuCount: 2, memoryMiB: 2048, diskSizeMiB: 10240, pids: 4096 };
const idleCycles = Number(process.env.BENCH_PAUSE_CYCLES ?? 10);
const heapCycles = Number(process.env.BENCH_PAUSE_HEAP_CYCLES ?? 5);

/** Starts a 200 MiB holder through envd's process RPC and returns once it says it is ready. */
async function startHeapHolder(endpoint: SandboxEndpoint): Promise<void> {
  const transport = createConnectTransport({ baseUrl: `http://${endpoint.address}:${endpoint.envdPort}` });
  const client = createClient(Process, transport);
  const abort = new AbortController();
  const script = "import os,sys,time\nb=os.urandom(200<<20)\nprint('ready',flush=True)\nwhile True: time.sleep(3600)";
  const stream = client.start(
    { process: { cmd: 'python3', args: ['-c', script], envs: {} }, stdin: false },
    { signal: abort.signal, headers: { authorization: `Basic ${Buffer.from('root:').toString('base64')}` } },
  );
  try {
    for await (const res of stream) {
      const data = res.event?.event.case === 'data' ? res.event.event.value : undefined;
      const out = data?.output.case === 'stdout' ? Buffer.from(data.output.value).toString() : '';
      if (out.includes('ready')) return;
      if (res.event?.event.case === 'end') throw new Error('the heap holder exited');
    }
    throw new Error('the process stream ended before the holder was ready');
  } finally {
    // Dropping the stream leaves the process running in envd (a background command).
    abort.abort();
  }
}

export async function measurePauseResume(rows: BenchRow[], samples: Record<string, number[]>): Promise<void> {
  const stateDir = await fs.mkdtemp(path.join(os.tmpdir(), 'sandboxd-bench-pause-'));
  const steps: Array<{ msg: string; steps: Record<string, number> }> = [];
  const logger = createLogger({
    level: 'info',
    write: (line) => {
      const entry = JSON.parse(line) as { msg: string; steps?: Record<string, number> };
      if (entry.steps && /paused|resumed/.test(entry.msg)) steps.push({ msg: entry.msg, steps: entry.steps });
    },
  });
  const runtime = new RuncRuntime({ stateDir, envdBundlePath, logger });
  const created: string[] = [];
  try {
    await runtime.init();
    const create = async () => {
      const sandboxId = newSandboxId();
      created.push(sandboxId);
      const envdEnv = {
        SANDBOXD_ENVD_CONFIG: encodeEnvdBootConfig({ sandboxId, envVars: {}, defaultUser: 'user', port: ENVD_PORT }),
      };
      return runtime.create({ sandboxId, templateId: 'base', limits, envdEnv });
    };
    const cycles = async (label: string, id: string, count: number) => {
      const pauseMs: number[] = [];
      const resumeMs: number[] = [];
      const imageBytes: number[] = [];
      steps.length = 0;
      for (let i = 0; i < count; i++) {
        const paused = await timed(() => runtime.pause(id));
        pauseMs.push(paused.ms);
        imageBytes.push(paused.value.imageBytes);
        resumeMs.push((await timed(() => runtime.resume(id))).ms);
      }
      samples[`pause ${label}`] = pauseMs;
      samples[`resume ${label}`] = resumeMs;
      return { pauseMs, resumeMs, imageMiB: percentile(imageBytes, 50) / 2 ** 20, detail: stepDetail(steps) };
    };

    const idle = await create();
    await new Promise((r) => setTimeout(r, 1_000));
    await cycles('warm-up', idle.sandboxId, 1); // page cache for CRIU, runc, the template
    const a = await cycles('idle', idle.sandboxId, idleCycles);
    await runtime.kill(idle.sandboxId);
    rows.push({ metric: 'runtime pause, idle p50', value: percentile(a.pauseMs, 50), unit: 'ms', target: '≤ 300 ms' });
    rows.push({
      metric: 'runtime pause, idle p95',
      value: percentile(a.pauseMs, 95),
      unit: 'ms',
      detail: a.detail.pause,
    });
    rows.push({
      metric: 'runtime resume, idle p50',
      value: percentile(a.resumeMs, 50),
      unit: 'ms',
      target: '≤ 300 ms',
    });
    rows.push({
      metric: 'runtime resume, idle p95',
      value: percentile(a.resumeMs, 95),
      unit: 'ms',
      detail: a.detail.resume,
    });
    rows.push({ metric: 'pause image, idle', value: a.imageMiB, unit: 'MiB' });

    const heap = await create();
    await startHeapHolder(heap);
    const b = await cycles('200 MiB heap', heap.sandboxId, heapCycles);
    rows.push({
      metric: 'runtime pause, 200 MiB heap p50',
      value: percentile(b.pauseMs, 50),
      unit: 'ms',
      target: '≤ 600 ms',
      detail: b.detail.pause,
    });
    rows.push({
      metric: 'runtime resume, 200 MiB heap p50',
      value: percentile(b.resumeMs, 50),
      unit: 'ms',
      target: '≤ 800 ms',
      detail: b.detail.resume,
    });
    rows.push({ metric: 'pause image, 200 MiB heap', value: b.imageMiB, unit: 'MiB' });
  } finally {
    await Promise.allSettled(created.map((id) => runtime.kill(id)));
    await fs.rm(stateDir, { recursive: true, force: true });
  }
}

/** Median of each step, the largest three: where the time goes. */
function stepDetail(entries: Array<{ msg: string; steps: Record<string, number> }>): { pause: string; resume: string } {
  const of = (msg: string) => {
    const byStep = new Map<string, number[]>();
    for (const e of entries.filter((x) => x.msg === msg)) {
      for (const [k, v] of Object.entries(e.steps)) byStep.set(k, [...(byStep.get(k) ?? []), v]);
    }
    return [...byStep]
      .map(([k, v]) => [k, percentile(v, 50)] as const)
      .sort((x, y) => y[1] - x[1])
      .slice(0, 3)
      .map(([k, v]) => `${k} ${Math.round(v)}`)
      .join(', ');
  };
  return { pause: `steps (ms): ${of('sandbox paused')}`, resume: `steps (ms): ${of('sandbox resumed')}` };
}
