import type { Logger } from '@sandboxd/common';
import { type EnvdInitRequest, INIT_TOKEN_HEADER } from '@sandboxd/protocol';
import type { SandboxEndpoint, SandboxRuntime } from '@sandboxd/runtime';
import type { WarmPool } from './warm-pool.js';

/**
 * Takes a pre-started sandbox of `templateId` from the pool and hands it over (envd's one-shot
 * `POST /init` sets the owner's token and env vars). Any failure kills that sandbox and answers
 * undefined, so the caller starts cold: the pool is an accelerator, never a point of failure.
 */
export async function claimWarmSandbox(
  o: { pool?: WarmPool | undefined; runtime: SandboxRuntime; logger: Logger },
  templateId: string,
  init: EnvdInitRequest,
): Promise<SandboxEndpoint | undefined> {
  if (!o.pool || templateId !== o.pool.templateId) return undefined;
  const pooled = o.pool.take();
  if (!pooled) return undefined;
  const { endpoint } = pooled;
  try {
    const res = await fetch(`http://${endpoint.address}:${endpoint.envdPort}/init`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', [INIT_TOKEN_HEADER]: pooled.initToken },
      body: JSON.stringify(init),
      signal: AbortSignal.timeout(5_000),
    });
    if (res.status !== 204) throw new Error(`envd /init answered ${res.status}`);
    return endpoint;
  } catch (err) {
    o.logger.warn('warm sandbox hand-over failed; starting cold', { sandboxId: endpoint.sandboxId, err });
    void o.runtime.kill(endpoint.sandboxId).catch(() => {});
    return undefined;
  }
}
