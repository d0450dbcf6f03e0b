/**
 * `npm run gen`: regenerates packages/protocol/src/gen from the reviewed .proto files.
 * buf runs the locally installed protoc-gen-es (found through node_modules/.bin on PATH), so the
 * output depends only on the versions pinned in package-lock.json. CI runs this and then
 * `git diff --exit-code`, so generated code can never drift from its source.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const protocolDir = path.join(root, 'packages/protocol');
const binDir = path.join(root, 'node_modules/.bin');

const result = spawnSync(path.join(binDir, 'buf'), ['generate'], {
  cwd: protocolDir,
  stdio: 'inherit',
  env: { ...process.env, PATH: `${binDir}${path.delimiter}${process.env.PATH ?? ''}` },
});
if (result.error) throw result.error;
if (result.status !== 0) {
  process.stderr.write(`buf generate failed with exit code ${result.status}\n`);
  process.exit(result.status ?? 1);
}
process.stdout.write('generated packages/protocol/src/gen\n');
