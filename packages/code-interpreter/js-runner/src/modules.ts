/**
 * `require` and `import()` for cells, resolved from the context's current directory (after a
 * process.chdir too), the way a REPL started there would resolve them.
 */
import { builtinModules, createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const builtins = new Set(builtinModules);
const requires = new Map<string, NodeJS.Require>();

function requireFrom(dir: string): NodeJS.Require {
  let found = requires.get(dir);
  if (!found) {
    found = createRequire(path.join(dir, '<repl>'));
    requires.set(dir, found);
  }
  return found;
}

/** A require that follows process.cwd(); `require.resolve` and `require.cache` work as usual. */
function makeCwdRequire(): NodeJS.Require {
  const cwdRequire = ((id: string) => requireFrom(process.cwd())(id)) as NodeJS.Require;
  const resolve = ((request: string, options?: { paths?: string[] }) =>
    requireFrom(process.cwd()).resolve(request, options)) as NodeJS.RequireResolve;
  resolve.paths = (request: string) => requireFrom(process.cwd()).resolve.paths(request);
  cwdRequire.resolve = resolve;
  cwdRequire.cache = requireFrom(process.cwd()).cache;
  cwdRequire.extensions = requireFrom(process.cwd()).extensions;
  return cwdRequire;
}

export function installModuleGlobals(importFunctionName: string): void {
  const cwdRequire = makeCwdRequire();
  const module = { exports: {}, id: '<repl>', filename: null, loaded: false, children: [], paths: [] };
  const globals = { require: cwdRequire, module, exports: module.exports, [importFunctionName]: importFromCwd };
  for (const [key, value] of Object.entries(globals)) {
    Object.defineProperty(globalThis, key, { configurable: true, writable: true, enumerable: false, value });
  }
}

// A non-literal specifier: esbuild leaves it a real dynamic import in the bundle.
const nativeImport = (specifier: string): Promise<unknown> => import(specifier);

/**
 * What `import(specifier)` in a cell loads. Relative paths are taken from the current directory;
 * packages are looked up from there (node_modules, NODE_PATH) with require's resolver, which only
 * misses packages that offer no CommonJS-visible entry at all.
 */
export function importFromCwd(specifier: string): Promise<unknown> {
  if (specifier.startsWith('node:') || builtins.has(specifier) || /^[a-z][a-z0-9+.-]*:/i.test(specifier)) {
    return nativeImport(specifier);
  }
  if (specifier.startsWith('.') || path.isAbsolute(specifier)) {
    return nativeImport(pathToFileURL(path.resolve(process.cwd(), specifier)).href);
  }
  let resolved: string;
  try {
    resolved = requireFrom(process.cwd()).resolve(specifier);
  } catch {
    return nativeImport(specifier);
  }
  return nativeImport(builtins.has(resolved) ? resolved : pathToFileURL(resolved).href);
}
