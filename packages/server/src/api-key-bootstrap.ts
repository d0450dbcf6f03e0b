import fs from 'node:fs';
import path from 'node:path';
import { DEFAULT_TEAM_ID, generateApiKey, registerApiKey } from './auth/api-keys.js';
import type { Store, TeamLimits } from './store/store.js';

/**
 * The default team (its plan and limits refreshed from the config at every start) and its first key. `SANDBOXD_API_KEY` is registered as given; otherwise a key
 * is generated once and kept (mode 0600) in the data directory so every start can print it again
 * (the store only holds its hash).
 */
export function bootstrapApiKey(
  store: Store,
  dataDir: string,
  configured: string | undefined,
  defaultTeam: TeamLimits & { plan: string },
): string | undefined {
  store.upsertTeam({ id: DEFAULT_TEAM_ID, name: 'default', ...defaultTeam });
  const keyFile = path.join(dataDir, 'api-key');
  if (configured) {
    registerApiKey(store, DEFAULT_TEAM_ID, configured);
    return configured;
  }
  if (fs.existsSync(keyFile)) {
    const key = fs.readFileSync(keyFile, 'utf8').trim();
    registerApiKey(store, DEFAULT_TEAM_ID, key);
    return key;
  }
  if (store.countApiKeys() > 0) return undefined;
  const key = generateApiKey();
  registerApiKey(store, DEFAULT_TEAM_ID, key);
  fs.writeFileSync(keyFile, `${key}\n`, { mode: 0o600 });
  return key;
}
