/**
 * Bundles the JavaScript/TypeScript context runner into ONE self-contained ESM file for the
 * sandbox's own Node (Debian 12's nodejs 18), with its parsers (acorn, sucrase) inside, so the
 * template needs no npm install. The code-interpreter template copies it to
 * /opt/sandboxd/interpreter/js-runner.mjs.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const runnerDir = path.dirname(fileURLToPath(import.meta.url));

export const jsRunnerEntry = path.join(runnerDir, 'src/main.ts');
export const defaultJsRunnerBundle = path.join(runnerDir, 'dist/js-runner.mjs');

export async function buildJsRunnerBundle(outFile: string = defaultJsRunnerBundle): Promise<string> {
  await build({
    entryPoints: [jsRunnerEntry],
    outfile: outFile,
    bundle: true,
    platform: 'node',
    target: 'node18',
    format: 'esm',
    minify: true,
    legalComments: 'none',
    logLevel: 'warning',
    // sucrase and its helpers are CommonJS and call require(); ESM output has none by default.
    banner: {
      js: "import { createRequire as __runnerCreateRequire } from 'node:module'; const require = __runnerCreateRequire(import.meta.url);",
    },
  });
  return outFile;
}

// `tsx packages/code-interpreter/js-runner/build.ts [out-file]` runs this file directly.
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const outFile = await buildJsRunnerBundle(process.argv[2] ?? defaultJsRunnerBundle);
  process.stdout.write(`built ${outFile}\n`);
}
