/**
 * Bundles envd into ONE self-contained ESM file that the runtime bind-mounts into every sandbox
 * and runs with the host's Node 20. Minified because every sandbox pays for parsing it (memory)
 * and every pause image stores it.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const packageDir = path.dirname(fileURLToPath(import.meta.url));

export async function buildEnvdBundle(outFile: string): Promise<void> {
  await build({
    entryPoints: [path.join(packageDir, 'src/main.ts')],
    outfile: outFile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    minify: true,
    legalComments: 'none',
    logLevel: 'warning',
    // busboy and other CommonJS dependencies call require(); ESM output has none by default.
    banner: {
      js: "import { createRequire as __envdCreateRequire } from 'node:module'; const require = __envdCreateRequire(import.meta.url);",
    },
  });
}

// `npm run build -w @sandboxd/envd` runs this file directly.
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const outFile = process.argv[2] ?? path.join(packageDir, 'dist/envd.mjs');
  await buildEnvdBundle(outFile);
  process.stdout.write(`built ${outFile}\n`);
}
