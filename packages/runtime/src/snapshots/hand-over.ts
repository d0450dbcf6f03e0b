import http from 'node:http';
import { decodeEnvdBootConfig, ENVD_CONFIG_ENV, type EnvdInitRequest, INIT_TOKEN_HEADER } from '@sandboxd/protocol';
import type { SandboxEndpoint } from '../runtime.js';

/**
 * Gives a sandbox restored from a ready snapshot its own identity: its envd still believes it is
 * the snapshot's unowned sandbox, holding the snapshot's init token in memory, like every other
 * copy. One `POST /init` with that token (known only to the host) sets what the create's boot
 * config says: the new sandbox id, the owner's access token and env vars, or, for a warm-pool
 * create, a fresh init token that keeps it unowned for the pool. envd accepts /init once, so the
 * snapshot's token is dead in every copy before create returns; and it is no use to a sandbox
 * anyway, since no sandbox can reach another's envd (the network hook isolates them).
 */
export async function handOver(
  endpoint: SandboxEndpoint,
  envdEnv: Record<string, string>,
  initToken: string,
): Promise<void> {
  const encoded = envdEnv[ENVD_CONFIG_ENV];
  const boot = encoded ? decodeEnvdBootConfig(encoded) : undefined;
  const body: EnvdInitRequest = {
    sandboxId: endpoint.sandboxId,
    ...(boot?.accessToken ? { accessToken: boot.accessToken } : {}),
    envVars: boot?.envVars ?? {},
    ...(boot?.initToken ? { initToken: boot.initToken } : {}),
  };
  const status = await post(endpoint, '/init', JSON.stringify(body), { [INIT_TOKEN_HEADER]: initToken });
  if (status !== 204) throw new Error(`envd /init answered ${status}`);
}

/** A fresh connection (no keep-alive pool): nothing of it should outlive the call. */
function post(endpoint: SandboxEndpoint, path: string, body: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: endpoint.address,
        port: endpoint.envdPort,
        path,
        method: 'POST',
        agent: false,
        timeout: 10_000,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('timeout', () => req.destroy(new Error('envd /init timed out')));
    req.on('error', reject);
    req.end(body);
  });
}
