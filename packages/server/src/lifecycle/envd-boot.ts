import { ENVD_CONFIG_ENV, ENVD_PORT, encodeEnvdBootConfig } from '@sandboxd/protocol';
import type { SandboxRecord } from '../store/store.js';

/**
 * envd's boot environment for a sandbox: its owner's access token and env vars, encoded in one
 * variable. Given to every boot (cold create, and a resume that boots afresh from the disk) so
 * that envd serves the owner even when the sandbox first came from the warm pool.
 */
export function envdBootEnv(record: Pick<SandboxRecord, 'id' | 'envdAccessToken' | 'envVars'>): Record<string, string> {
  return {
    [ENVD_CONFIG_ENV]: encodeEnvdBootConfig({
      sandboxId: record.id,
      ...(record.envdAccessToken ? { accessToken: record.envdAccessToken } : {}),
      envVars: record.envVars,
      defaultUser: 'user',
      port: ENVD_PORT,
    }),
  };
}
