import { fileURLToPath } from 'node:url';
import { baseRecipe, type TemplateRecipe } from './template-recipe.js';

const interpreterPackage = fileURLToPath(new URL('../../../code-interpreter/', import.meta.url));
/** Where the code-interpreter template keeps its server and the JavaScript runner. */
export const interpreterDir = '/opt/sandboxd/interpreter';
/** The JavaScript runner's bundle, made by the code-interpreter package's js-runner/build.ts before a build. */
export const jsRunnerBundle = `${interpreterPackage}js-runner/dist/js-runner.mjs`;
export const interpreterPort = 49999;

/**
 * E2B's `python-data-science`: base plus the Python data stack, all from Debian 12 (so a
 * rebuild from the same mirror gives the same versions: pandas 1.5.3, numpy 1.24, matplotlib
 * 3.6.3, scipy 1.10, scikit-learn 1.2.1, seaborn 0.12).
 */
export const pythonDataScienceRecipe: TemplateRecipe = {
  ...baseRecipe,
  revision: 1,
  from: 'base',
  packages: [
    'python3-numpy',
    'python3-pandas',
    'python3-matplotlib',
    'python3-scipy',
    'python3-sklearn',
    'python3-seaborn',
    'python3-pil',
    'python3-requests',
    'python3-openpyxl',
    'python3-bs4',
    'python3-sympy',
    'fonts-dejavu-core',
  ],
};

/**
 * E2B's `code-interpreter-v1`: the data stack, Jupyter kernels for Python (ipykernel), Bash
 * (bash_kernel, PyPI) and R (IRkernel), and our execution server on port 49999, which envd
 * starts at boot; the sandbox is handed out once the server answers /health.
 */
export const codeInterpreterRecipe: TemplateRecipe = {
  ...baseRecipe,
  revision: 1,
  from: 'python-data-science',
  packages: [
    'python3-jupyter-client',
    'python3-ipykernel',
    'python3-ipython',
    'python3-tornado',
    'python3-pexpect',
    'python3-filetype',
    'r-base-core',
    'r-cran-irkernel',
  ],
  pip: ['bash_kernel==0.10.0'],
  run: ['python3 -m bash_kernel.install --sys-prefix'],
  files: [
    { source: `${interpreterPackage}python/sandboxd_interpreter`, target: `${interpreterDir}/sandboxd_interpreter` },
    { source: jsRunnerBundle, target: `${interpreterDir}/js-runner.mjs` },
  ],
  start: {
    cmd: `exec python3 -m sandboxd_interpreter --port ${interpreterPort}`,
    user: 'user',
    cwd: '/home/user',
    env: { PYTHONPATH: interpreterDir },
  },
  ready: { cmd: `curl -sf http://127.0.0.1:${interpreterPort}/health`, timeoutMs: 60_000 },
};

/** A map without a prototype, so that a name such as `constructor` finds nothing. */
function lookupTable<T>(entries: Record<string, T>): Readonly<Record<string, T>> {
  return Object.freeze(Object.assign(Object.create(null) as Record<string, T>, entries));
}

export const builtInRecipes = lookupTable<TemplateRecipe>({
  base: baseRecipe,
  'python-data-science': pythonDataScienceRecipe,
  'code-interpreter-v1': codeInterpreterRecipe,
});

/** Other names E2B's clients use for a built-in template. */
const aliases = lookupTable<string>({ 'code-interpreter': 'code-interpreter-v1' });

/** The template a name means: an alias's target, else the name itself. */
export function canonicalTemplateName(name: string): string {
  return aliases[name] ?? name;
}

/** A built-in template and the ones it is built from, parents first. */
export function recipeChain(name: string): string[] {
  const chain: string[] = [];
  for (let at: string | undefined = name; at; at = builtInRecipes[at]?.from) {
    if (chain.includes(at)) throw new Error(`template ${name} is built from itself`);
    chain.unshift(at);
  }
  return chain;
}
