/**
 * Bundles `@sandboxd/sdk` (with e2b and its dependencies) into ONE ESM file for browsers:
 * dist/sdk.browser.mjs, what the package's `browser` export condition points at.
 *
 * e2b's single entry imports Node built-ins and Node-only packages at top level for its template
 * builder (Dockerfiles, local file hashing, tar uploads); the Sandbox, files and commands path
 * uses only fetch and Connect over fetch. Those imports are replaced by stub modules: importing
 * them costs nothing, and only calling into one throws a clear "not available in the browser".
 */
import { builtinModules } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';

const packageDir = path.dirname(fileURLToPath(import.meta.url));

/** Where the bundle is written unless told otherwise. */
export const browserBundlePath = path.join(packageDir, 'dist/sdk.browser.mjs');

/**
 * Packages reached only by e2b's template builder or its Node transport, with the names imported
 * from them. undici, tar and glob are loaded by e2b at run time (which it refuses in a browser);
 * listing them makes sure no bundler step pulls them in. dockerfile-ast would work but only
 * parses Dockerfiles for the builder: stubbing it keeps the bundle small. chalk stays: e2b calls
 * it at load time (its log levels), and it runs in browsers.
 */
const nodeOnlyPackages: Record<string, readonly string[]> = {
  undici: [],
  undici8: [],
  tar: [],
  glob: [],
  'dockerfile-ast': ['DockerfileParser'],
};

const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

function isStubbed(specifier: string): boolean {
  return builtins.has(specifier) || specifier.startsWith('node:') || Object.hasOwn(nodeOnlyPackages, specifier);
}

/**
 * The one helper every stub module uses: a value whose every property is another stub and whose
 * call or construction throws, naming what was called. `then` stays undefined so that awaiting a
 * stub does not throw.
 */
const stubRuntime = `
export default function stub(name) {
  const fail = () => {
    throw new Error(name + ' is not available in the browser (the @sandboxd/sdk browser build has no Node built-ins; use the Node.js build for it)');
  };
  return new Proxy(function () {}, {
    get(_target, prop) {
      if (typeof prop === 'symbol' || prop === 'then') return undefined;
      return stub(name + '.' + prop);
    },
    apply: fail,
    construct: fail,
  });
}
`;
const stubRuntimePath = 'sandboxd-browser-stub';

/** What `specifier` exports, so that named imports of it resolve (to stubs). */
async function exportNames(specifier: string): Promise<readonly string[]> {
  if (Object.hasOwn(nodeOnlyPackages, specifier)) return nodeOnlyPackages[specifier] ?? [];
  const real = (await import(specifier)) as Record<string, unknown>;
  return Object.keys(real).filter((n) => n !== 'default' && /^[A-Za-z_$][\w$]*$/.test(n));
}

/** An ES module standing in for `specifier`: its default and named exports are all stubs. */
async function stubSource(specifier: string): Promise<string> {
  if (specifier === stubRuntimePath) return stubRuntime;
  const names = await exportNames(specifier);
  return [
    `import stub from ${JSON.stringify(stubRuntimePath)};`,
    `const s = stub(${JSON.stringify(specifier)});`,
    'export default s;',
    ...names.map((n) => `export const ${n} = s.${n};`),
  ].join('\n');
}

const browserStubs: Plugin = {
  name: 'browser-stubs',
  setup(b) {
    b.onResolve({ filter: /.*/ }, (args) =>
      isStubbed(args.path) || args.path === stubRuntimePath
        ? { path: args.path, namespace: 'browser-stub' }
        : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'browser-stub' }, async (args) => ({
      contents: await stubSource(args.path),
      loader: 'js',
    }));
  },
};

export interface BrowserBundle {
  outFile: string;
  bytes: number;
  /** Imports left for the browser to resolve: none, everything is bundled or stubbed. */
  externalImports: string[];
}

/** Builds the browser bundle (about a second). */
export async function buildSdkBrowserBundle(outFile: string = browserBundlePath): Promise<BrowserBundle> {
  const result = await build({
    entryPoints: [path.join(packageDir, 'src/index.ts')],
    outfile: outFile,
    bundle: true,
    platform: 'browser',
    // What current browsers run natively (private fields, top-level await).
    target: 'es2022',
    format: 'esm',
    minify: true,
    sourcemap: 'linked',
    legalComments: 'none',
    logLevel: 'warning',
    metafile: true,
    plugins: [browserStubs],
  });
  const output = Object.entries(result.metafile.outputs).find(([file]) => path.resolve(file) === path.resolve(outFile));
  if (!output) throw new Error(`esbuild did not report ${outFile}`);
  return { outFile, bytes: output[1].bytes, externalImports: output[1].imports.map((i) => i.path) };
}

// `npm run build -w @sandboxd/sdk` runs this file directly.
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const outFile = path.resolve(process.argv[2] ?? browserBundlePath);
  const { bytes } = await buildSdkBrowserBundle(outFile);
  process.stdout.write(`built ${outFile} (${Math.round(bytes / 1024)} KiB)\n`);
}
