import { randomBytes } from 'node:crypto';
import { Sandbox } from 'e2b';
import { startTestServer } from '../tests/support/server-harness.js';
import { type BenchRow, percentile, timed } from './stats.js';

/**
 * Issue #4 figures: file throughput through the SDK both ways (100 MiB of incompressible bytes,
 * default multipart write and bytes read; best of 3, as the machine is shared), 1 000 small files
 * in one multipart call, and watch latency: a command inside writes files at a steady pace and
 * each event's arrival at the client is compared with the file's mtime (same kernel clock).
 * Run alone with `npm run bench -- files`.
 */
const MiB = 1024 * 1024;

export async function measureFiles(rows: BenchRow[], samples: Record<string, number[]>): Promise<void> {
  const server = await startTestServer({ env: { SANDBOXD_WARM_POOL: '0' } });
  server.useForE2b();
  try {
    const sbx = await Sandbox.create();
    const size = 100 * MiB;
    const data = randomBytes(size);
    const body = data.buffer.slice(data.byteOffset, data.byteOffset + size);
    await sbx.files.write('bench/warmup.bin', body);
    const writeMBs: number[] = [];
    const readMBs: number[] = [];
    for (let i = 0; i < 3; i++) {
      const write = await timed(() => sbx.files.write('bench/100m.bin', body));
      writeMBs.push(size / 1e6 / (write.ms / 1000));
      const read = await timed(() => sbx.files.read('bench/100m.bin', { format: 'bytes' }));
      if (read.value.byteLength !== size) throw new Error(`read ${read.value.byteLength} bytes`);
      readMBs.push(size / 1e6 / (read.ms / 1000));
    }
    samples['files.write 100 MiB MB/s'] = writeMBs;
    samples['files.read 100 MiB MB/s'] = readMBs;
    rows.push({
      metric: 'files.write 100 MiB (best of 3)',
      value: Math.max(...writeMBs),
      unit: 'MB/s',
      target: '≥ 200 MB/s',
    });
    rows.push({
      metric: 'files.read 100 MiB (best of 3)',
      value: Math.max(...readMBs),
      unit: 'MB/s',
      target: '≥ 200 MB/s',
    });

    const small = Array.from({ length: 1000 }, (_, i) => ({
      path: `bench/small/d${i % 10}/f${i}.txt`,
      data: `file ${i}\n`,
    }));
    await sbx.files.write(small.slice(0, 10));
    const many = await timed(() => sbx.files.write(small));
    if (many.value.length !== 1000) throw new Error(`wrote ${many.value.length} files`);
    rows.push({ metric: '1 000 small files, one multipart write', value: many.ms, unit: 'ms' });

    await sbx.files.makeDir('bench/watched');
    const latencies: number[] = [];
    const watcher = await sbx.files.watchDir(
      'bench/watched',
      (event) => {
        const mtime = event.entry?.modifiedTime?.getTime();
        if (event.type === 'create' && mtime) latencies.push(Date.now() - mtime);
      },
      { includeEntry: true, timeoutMs: 0 },
    );
    await sbx.commands.run('for i in $(seq 1 100); do : > bench/watched/f$i; sleep 0.02; done');
    await new Promise((r) => setTimeout(r, 500));
    await watcher.stop();
    samples['watch event latency ms'] = latencies;
    rows.push({
      metric: 'watch event latency p50',
      value: percentile(latencies, 50),
      unit: 'ms',
      detail: `file created inside → event at the SDK, n=${latencies.length}`,
    });
    await sbx.kill();
  } finally {
    await server.stop();
  }
}
