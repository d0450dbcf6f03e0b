import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Polls `GET http://<address>:<port>/health` until it answers 2xx. The veth is up before PID 1
 * starts (prestart hook), so early attempts fail fast with ECONNREFUSED; poll at a short interval
 * because envd's start-up is most of the create latency.
 */
export async function waitForHealth(
  address: string,
  port: number,
  options: { timeoutMs: number; signal?: AbortSignal; isAlive?: () => boolean },
): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  let lastError = 'no answer';
  while (Date.now() < deadline) {
    options.signal?.throwIfAborted();
    const status = await probe(address, port).catch((err: Error) => {
      lastError = err.message;
      return 0;
    });
    if (status >= 200 && status < 300) return;
    if (status) lastError = `HTTP ${status}`;
    if (options.isAlive && !options.isAlive()) throw new Error(`sandbox exited before becoming healthy (${lastError})`);
    await sleep(5);
  }
  throw new Error(`health check timed out after ${options.timeoutMs} ms: ${lastError}`);
}

function probe(address: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: address, port, path: '/health', agent: false, timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy(new Error('probe timeout')));
    req.on('error', reject);
  });
}
