import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startTestServer } from '../tests/support/server-harness.js';
import { latencyTable, leakCount, runLoad } from './load.js';

/**
 * `npm run soak`: 200 concurrent clients (SOAK_CLIENTS) creating, using and killing sandboxes
 * for 5 minutes (SOAK_SECONDS) against one real server with the default team limits (100
 * concurrent: the rest are refused with 429 and retried), then a count of what is left on the
 * host. Prints a table, writes the figures under bench/results/, and exits non-zero on any error
 * other than a 429 or on any leak. Not part of `npm test` (it takes minutes and loads the machine).
 */
const clients = Number(process.env.SOAK_CLIENTS ?? 200);
const seconds = Number(process.env.SOAK_SECONDS ?? 300);

async function main(): Promise<void> {
  const server = await startTestServer({ env: { SANDBOXD_WARM_POOL: '0' } });
  const loadBefore = os.loadavg();
  let failed = false;
  try {
    process.stdout.write(`soak: ${clients} clients for ${seconds} s against ${server.url}\n`);
    const started = Date.now();
    const result = await runLoad(server, { clients, durationMs: seconds * 1000 });
    const tookS = (Date.now() - started) / 1000;
    const machine = `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB`;
    const rows = latencyTable(result);
    process.stdout.write(
      `\nsandboxd soak — ${machine}, load ${loadBefore.map((l) => l.toFixed(1)).join(' ')} → ${os
        .loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')}\n`,
    );
    process.stdout.write(
      `  ${'operation'.padEnd(14)} ${'count'.padStart(7)} ${'p50 ms'.padStart(9)} ${'p95 ms'.padStart(9)} ${'p99 ms'.padStart(9)}\n`,
    );
    for (const r of rows) {
      const cells = [r.p50, r.p95, r.p99].map((v) => v.toFixed(0).padStart(9)).join(' ');
      process.stdout.write(`  ${r.op.padEnd(14)} ${String(r.count).padStart(7)} ${cells}\n`);
    }
    const leaks = leakCount(result);
    process.stdout.write(
      `\n  ${result.sandboxes.length} sandboxes in ${tookS.toFixed(0)} s, ${result.rateLimited} answered 429, ${result.retriedKills} kills retried after a 503, ${result.errors.length} errors, ${leaks} leaked resources\n`,
    );
    for (const e of result.errors.slice(0, 20)) process.stdout.write(`  error: ${e}\n`);
    if (leaks > 0) process.stdout.write(`  leaks: ${JSON.stringify(result.leaks)}\n`);
    const outDir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'results');
    fs.mkdirSync(outDir, { recursive: true });
    const outFile = path.join(outDir, `soak-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
    const summary = {
      clients,
      seconds,
      machine,
      rows,
      rateLimited: result.rateLimited,
      errors: result.errors,
      leaks: result.leaks,
    };
    fs.writeFileSync(outFile, `${JSON.stringify(summary, null, 2)}\n`);
    fs.writeFileSync(outFile.replace(/\.json$/, '.server.log'), `${server.logs.join('\n')}\n`);
    process.stdout.write(`\nfigures: ${path.relative(process.cwd(), outFile)} (server log beside it)\n`);
    failed = result.errors.length > 0 || leaks > 0;
  } finally {
    await server.stop();
  }
  process.exit(failed ? 1 : 0);
}

await main();
