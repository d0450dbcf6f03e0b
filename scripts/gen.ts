/**
 * `npm run gen`: regenerates what the repository derives from its sources —
 * - packages/protocol/src/gen from the reviewed .proto files (buf runs the locally installed
 *   protoc-gen-es, found through node_modules/.bin on PATH);
 * - packages/sdk/docs/api, the SDK's typed API reference, from its TypeScript and doc comments
 *   (typedoc with its markdown plugin, configured in packages/sdk/typedoc.json);
 * - docs/openapi.json, the control-plane API's OpenAPI description, from the route schemas
 *   (packages/server/src/api/openapi.ts), with the default configuration's limits.
 * The output depends only on the versions pinned in package-lock.json. `npm test` runs this and
 * then `git diff --exit-code` on both, so generated files can never drift from their source.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildOpenApi } from '../packages/server/src/api/openapi.js';
import { loadConfig } from '../packages/server/src/config.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const binDir = path.join(root, 'node_modules/.bin');

function run(what: string, command: string, args: string[], cwd: string): void {
  const result = spawnSync(path.join(binDir, command), args, {
    cwd: path.join(root, cwd),
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, PATH: `${binDir}${path.delimiter}${process.env.PATH ?? ''}` },
  });
  if (result.error) throw result.error;
  if (result.status !== 0) {
    process.stderr.write(`${what} failed with exit code ${result.status}\n`);
    process.exit(result.status ?? 1);
  }
  process.stdout.write(`generated ${what}\n`);
}

run('packages/protocol/src/gen', 'buf', ['generate'], 'packages/protocol');
// --logLevel Warn: typedoc's info lines are noise here; warnings (an undocumented export) are not.
run('packages/sdk/docs/api', 'typedoc', ['--logLevel', 'Warn', '--treatWarningsAsErrors'], 'packages/sdk');

const openApi = buildOpenApi(loadConfig({ env: {}, argv: [], repoRoot: root }));
fs.writeFileSync(path.join(root, 'docs/openapi.json'), `${JSON.stringify(openApi, null, 2)}\n`);
process.stdout.write('generated docs/openapi.json\n');
