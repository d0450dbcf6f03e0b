import type { TestServer } from './server-harness.js';

/** What a test can observe of a server's warm pools: its log lines and its metrics, no timing. */

/** Whether the create of `sandboxId` was served from a warm pool (its "sandbox running" line). */
export function servedWarm(logs: string[], sandboxId: string): boolean | undefined {
  for (const line of logs) {
    if (!line.includes('"sandbox running"') || !line.includes(sandboxId)) continue;
    return (JSON.parse(line) as { warm?: boolean }).warm;
  }
  return undefined;
}

/** Ready sandboxes of each template's pool, from the labelled gauge. */
export async function poolReady(server: TestServer): Promise<Record<string, number>> {
  const text = await (await server.api('GET', '/metrics')).text();
  const ready: Record<string, number> = {};
  for (const m of text.matchAll(/^sandboxd_warm_pool_ready\{template="([^"]+)"\} (\d+)$/gm)) {
    ready[m[1] ?? ''] = Number(m[2]);
  }
  return ready;
}

/** Sandbox ids the pool of `templateId` has started, in order (its "warm sandbox ready" lines). */
export function pooledIds(logs: string[], templateId: string): string[] {
  return logs
    .filter((line) => line.includes('"warm sandbox ready"'))
    .map((line) => JSON.parse(line) as { templateId: string; sandboxId: string })
    .filter((line) => line.templateId === templateId)
    .map((line) => line.sandboxId);
}

export async function until(check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}
