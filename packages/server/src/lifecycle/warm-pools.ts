import type { Logger } from '@sandboxd/common';
import type { SandboxLimits, SandboxRuntime } from '@sandboxd/runtime';
import { type PooledSandbox, WarmPool } from './warm-pool.js';

export interface WarmPoolsOptions {
  /** Pool size by template id; templates absent or 0 have no pool. */
  sizes: Readonly<Record<string, number>>;
  limits: SandboxLimits;
  runtime: SandboxRuntime;
  logger: Logger;
  /** The template's current build id, undefined when it is not built. */
  templateBuild: (templateId: string) => Promise<string | undefined>;
  missingTemplatePollMs?: number;
  buildHint?: (templateId: string) => string | undefined;
}

/**
 * One WarmPool per configured template, each with its own refill loop and backoff, so a template
 * that is missing or failing to start leaves the others' pools untouched. Their sandboxes have
 * no store row, so like a single pool they count against no team's limit until handed over
 * (the create that takes one is admitted first); the config bounds their total.
 */
export class WarmPools {
  readonly #pools = new Map<string, WarmPool>();

  constructor(private readonly o: WarmPoolsOptions) {
    for (const [templateId, size] of Object.entries(o.sizes)) {
      if (size <= 0) continue;
      this.#pools.set(
        templateId,
        new WarmPool({
          size,
          templateId,
          limits: o.limits,
          runtime: o.runtime,
          templateBuild: o.templateBuild,
          logger: o.logger.child({ templateId }),
          ...(o.missingTemplatePollMs === undefined ? {} : { missingTemplatePollMs: o.missingTemplatePollMs }),
          ...(o.buildHint ? { buildHint: o.buildHint } : {}),
        }),
      );
    }
  }

  /** Templates that have a pool. */
  templateIds(): string[] {
    return [...this.#pools.keys()];
  }

  /**
   * A ready sandbox of `templateId` on its current build, or undefined (no pool for it, or none
   * ready). Rejects with SHUTTING_DOWN once closed.
   */
  async take(templateId: string): Promise<PooledSandbox | undefined> {
    const pool = this.#pools.get(templateId);
    if (!pool) return undefined;
    // One marker read per create: a rebuild while the server runs must not hand out the old build.
    const build = await this.o.templateBuild(templateId).catch(() => undefined);
    return pool.take(build);
  }

  /** Ready sandboxes per template with a pool (0s included, so the gauge shows every pool). */
  readyCounts(): Array<{ templateId: string; ready: number }> {
    return [...this.#pools].map(([templateId, pool]) => ({ templateId, ready: pool.readyCount() }));
  }

  /** Starts the pools (all, or those `only` picks) filling; a pool whose template is missing waits for it. */
  fill(only: (templateId: string) => boolean = () => true): void {
    for (const [templateId, pool] of this.#pools) if (only(templateId)) pool.fill();
  }

  /** Closes every pool: none of their sandboxes, started or starting, outlives this. Idempotent. */
  async close(): Promise<void> {
    await Promise.all([...this.#pools.values()].map((pool) => pool.close()));
  }
}
