import type { Logger } from '@sandboxd/common';
import { type EnvdInitRequest, INIT_TOKEN_HEADER } from '@sandboxd/protocol';
import type { SandboxEndpoint, SandboxRuntime } from '@sandboxd/runtime';
import type { WarmPools } from './warm-pools.js';

/**
 * Takes a pre-started sandbox of `templateId` from that template's pool and hands it over (envd's
 * one-shot `POST /init` sets the owner's token and env vars; `init` is sent as is, so a new field
 * of the request needs no change here). Any failure kills that sandbox and answers
 * undefined, so the caller starts cold: the pool is an accelerator, never a point of failure.
 */
export async function claimWarmSandbox(
  o: { pools?: WarmPools | undefined; runtime: SandboxRuntime; logger: Logger },
  templateId: string,
  init: EnvdInitRequest,
): Promise<SandboxEndpoint | undefined> {
  const pooled = await o.pools?.take(templateId);
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
    o.logger.warn('warm sandbox hand-over failed; starting cold', { sandboxId: endpoint.sandboxId, templateId, err });
    void o.runtime.kill(endpoint.sandboxId).catch(() => {});
    return undefined;
  }
}
