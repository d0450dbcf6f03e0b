import { after, before } from 'node:test';
import { Sandbox } from 'e2b';
import { startTestServer, type TestServer } from './server-harness.js';

/**
 * The headers that take a raw request (fetch, no SDK) through the server's proxy to a sandbox's
 * envd: which sandbox, and its envd access token (read from the API as the SDK gets it).
 */
export async function envdHeaders(server: TestServer, sandboxId: string): Promise<Record<string, string>> {
  const info = (await (await server.api('GET', `/sandboxes/${sandboxId}`)).json()) as { envdAccessToken: string };
  return { 'e2b-sandbox-id': sandboxId, 'x-access-token': info.envdAccessToken };
}

export interface EnvdFixture {
  server: TestServer;
  sbx: Sandbox;
  headers: Record<string, string>;
}

/**
 * Inside a `describe`: a server (no warm pool), one sandbox made with the SDK and the raw envd
 * headers, ready in `before`, and everything killed and stopped in `after`, also on failure.
 */
export function useEnvdFixture(): EnvdFixture {
  const fixture = {} as EnvdFixture;
  before(async () => {
    fixture.server = await startTestServer({ env: { SANDBOXD_WARM_POOL: '0' } });
    fixture.server.useForE2b();
    fixture.sbx = await Sandbox.create();
    fixture.headers = await envdHeaders(fixture.server, fixture.sbx.sandboxId);
  });
  after(async () => {
    await fixture.sbx?.kill().catch(() => {});
    await fixture.server?.stop();
  });
  return fixture;
}
