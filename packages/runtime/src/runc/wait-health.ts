import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { SandboxdError } from '@sandboxd/common';

/**
 * Polls `GET http://<address>:<port>/health` until it answers 2xx, then `/ready` until the
 * template's start command passed its ready check (204; an envd without a start command answers
 * 204 at once, one from before `/ready` existed 404). The veth is up before PID 1 starts (prestart
 * hook), so early attempts fail fast with ECONNREFUSED; poll at a short interval because envd's
 * start-up is most of the create latency. A start command that failed ends the wait at once with
 * envd's reason.
 */
export async function waitForHealth(
  address: string,
  port: number,
  options: { timeoutMs: number; signal?: AbortSignal; isAlive?: () => boolean },
): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  let lastError = 'no answer';
  let path = '/health';
  while (Date.now() < deadline) {
    options.signal?.throwIfAborted();
    const answer = await probe(address, port, path).catch((err: Error) => {
      lastError = err.message;
      return { status: 0, body: '' };
    });
    const { status } = answer;
    if (path === '/health' && status >= 200 && status < 300) {
      path = '/ready';
      continue;
    }
    if (path === '/ready') {
      if (status === 204 || status === 404) return;
      if (status !== 0 && status !== 503) throw new SandboxdError('START_FAILED', reason(answer.body));
    }
    if (status) lastError = `${path} answered HTTP ${status}`;
    if (options.isAlive && !options.isAlive()) throw new Error(`sandbox exited before becoming healthy (${lastError})`);
    await sleep(path === '/health' ? 5 : 20);
  }
  throw new Error(`health check timed out after ${options.timeoutMs} ms: ${lastError}`);
}

function reason(body: string): string {
  try {
    const parsed = JSON.parse(body) as { message?: unknown };
    if (typeof parsed.message === 'string') return parsed.message;
  } catch {}
  return body.slice(0, 2048) || 'no reason given';
}

function probe(address: string, port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: address, port, path, agent: false, timeout: 1000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('probe timeout')));
    req.on('error', reject);
  });
}
