import path from 'node:path';
import { ensureHelpers, type HelperPaths } from '../host/ensure-helpers.js';
import { StagedFile } from '../host/staged-file.js';
import type { ResolvedOptions } from './runtime-options.js';

export interface BoundFiles {
  helpers: HelperPaths;
  /** envd's bundle and the node binary, staged under content names (their names are their hashes). */
  envdBundle: string;
  node: string;
}

/**
 * The host files every sandbox binds read-only (envd's bundle, node, the envd helper) and the
 * helpers the runtime runs, staged once per process. Staged copies are content-named and never
 * replaced in place, so an upgrade never changes a file under a paused sandbox or a snapshot, and
 * servers with the same files get the same names (the ready-snapshot key uses them).
 */
export class BindSources {
  readonly #o: Pick<ResolvedOptions, 'envdBundlePath' | 'runDir' | 'nodeBinary' | 'helpersDir' | 'helperSourcesDir'>;
  readonly #envd: StagedFile;
  readonly #node: StagedFile;
  #helpers: Promise<HelperPaths> | undefined;

  constructor(options: BindSources['options']) {
    this.#o = options;
    this.#envd = new StagedFile(options.envdBundlePath, path.join(options.runDir, 'envd'));
    this.#node = new StagedFile(options.nodeBinary, options.helpersDir);
  }

  get options() {
    return this.#o;
  }

  async files(): Promise<BoundFiles> {
    const [helpers, envdBundle, node] = await Promise.all([this.helpers(), this.#envd.path(), this.#node.path()]);
    return { helpers, envdBundle, node };
  }

  helpers(): Promise<HelperPaths> {
    this.#helpers ??= ensureHelpers(this.#o.helpersDir, this.#o.helperSourcesDir).catch((err) => {
      this.#helpers = undefined;
      throw err;
    });
    return this.#helpers;
  }
}
