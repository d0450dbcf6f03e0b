import { type Logger, newSandboxId, randomToken, SandboxdError } from '@sandboxd/common';
import { unownedEnvdEnv } from '@sandboxd/protocol';
import type { SandboxEndpoint, SandboxLimits, SandboxRuntime } from '@sandboxd/runtime';

const retryAfterMs = 30_000;
/** How often a pool whose template is not built looks again (a stat of its marker: cheap). */
const missingTemplatePollMs = 5_000;
/** How long close() waits for starts it aborted to roll back before it kills them itself. */
const closeTimeoutMs = 15_000;

export interface PooledSandbox {
  endpoint: SandboxEndpoint;
  initToken: string;
  /** The template build it was started on, when the pool knows builds. */
  build?: string | undefined;
}

export interface WarmPoolOptions {
  size: number;
  templateId: string;
  limits: SandboxLimits;
  runtime: SandboxRuntime;
  logger: Logger;
  /**
   * The template's current build id, undefined when it is not built: a pool whose template is
   * missing waits for it instead of failing, and sandboxes of an older build are not handed out.
   */
  templateBuild?: (templateId: string) => Promise<string | undefined>;
  /** Poll interval while the template is missing (tests shorten it). */
  missingTemplatePollMs?: number;
  /** How to build a missing template, for the warning (built-in templates have a command). */
  buildHint?: (templateId: string) => string | undefined;
}

/** A start skipped because the template is not built: not a failure, the pool just waits. */
class TemplateMissing extends Error {}

/**
 * Sandboxes started ahead of demand, so that a create only has to hand one over (envd's one-shot
 * `POST /init`) instead of waiting ~150 ms for runc and Node to start. Pool sandboxes have no
 * store row and no route: nothing can reach them but the control plane, and after a crash the
 * start-up sweep removes them like any other orphan.
 *
 * Only sandboxes of the pool's template and default limits come from the pool; anything else
 * starts cold.
 */
export class WarmPool {
  readonly #ready: PooledSandbox[] = [];
  /** Starts under way, by sandbox id. */
  readonly #starting = new Map<string, Promise<void>>();
  readonly #abort = new AbortController();
  #closing: Promise<void> | undefined;
  #failures = 0;
  #retryTimer: NodeJS.Timeout | undefined;
  /** True while the template is known to be missing: logged once when it goes, once when it comes. */
  #waitingForTemplate = false;
  #missingLogged = false;

  constructor(private readonly o: WarmPoolOptions) {}

  get templateId(): string {
    return this.o.templateId;
  }

  /** Sandboxes started and waiting to be handed out. */
  readyCount(): number {
    return this.#ready.length;
  }

  /**
   * A started sandbox, or undefined when none is ready. With `currentBuild`, sandboxes started on
   * another build (the template was rebuilt since) are killed rather than handed out. Throws
   * SHUTTING_DOWN once closed.
   */
  take(currentBuild?: string): PooledSandbox | undefined {
    if (this.#closing) throw new SandboxdError('SHUTTING_DOWN', 'the warm pool is closed');
    let pooled = this.#ready.shift();
    while (pooled && currentBuild !== undefined && pooled.build !== undefined && pooled.build !== currentBuild) {
      this.o.logger.info('warm sandbox of an older template build discarded', {
        ...this.#logFields(),
        sandboxId: pooled.endpoint.sandboxId,
      });
      void this.#kill(pooled.endpoint.sandboxId);
      pooled = this.#ready.shift();
    }
    this.fill();
    return pooled;
  }

  /** Starts sandboxes in the background until the pool is full; one at a time, to spare the CPU. */
  fill(): void {
    if (this.#closing || this.#starting.size > 0 || this.#ready.length >= this.o.size) return;
    // After repeated failures (e.g. the template is being rebuilt) pause instead of spinning,
    // then try again: creates meanwhile start cold.
    if (this.#failures >= 3 || this.#waitingForTemplate) {
      this.#retryTimer ??= setTimeout(
        () => {
          this.#retryTimer = undefined;
          this.#failures = 0;
          this.#waitingForTemplate = false;
          this.fill();
        },
        this.#waitingForTemplate ? (this.o.missingTemplatePollMs ?? missingTemplatePollMs) : retryAfterMs,
      ).unref();
      return;
    }
    const sandboxId = newSandboxId();
    const started = this.#startOne(sandboxId)
      .then(
        (pooled) => {
          this.#failures = 0;
          if (this.#closing) return this.#kill(sandboxId);
          this.#ready.push(pooled);
          this.o.logger.info('warm sandbox ready', { ...this.#logFields(), sandboxId, ready: this.#ready.length });
        },
        (err: unknown) => {
          // An aborted start rolled itself back; that is the shutdown, not a failure.
          if (this.#abort.signal.aborted) return;
          if (err instanceof TemplateMissing) {
            this.#waitingForTemplate = true;
            return;
          }
          this.#failures++;
          this.o.logger.warn('warm pool could not start a sandbox', {
            ...this.#logFields(),
            err,
            failures: this.#failures,
          });
        },
      )
      .finally(() => {
        this.#starting.delete(sandboxId);
        this.fill();
      });
    this.#starting.set(sandboxId, started);
  }

  async #startOne(sandboxId: string): Promise<PooledSandbox> {
    const build = this.o.templateBuild ? await this.#checkTemplate(this.o.templateBuild) : undefined;
    const initToken = randomToken(24);
    const endpoint = await this.o.runtime.create(
      {
        sandboxId,
        templateId: this.o.templateId,
        limits: this.o.limits,
        envdEnv: unownedEnvdEnv(sandboxId, initToken),
      },
      this.#abort.signal,
    );
    return { endpoint, initToken, build };
  }

  /** The template's current build; throws TemplateMissing (logged once) when it is not built. */
  async #checkTemplate(templateBuild: (templateId: string) => Promise<string | undefined>): Promise<string> {
    const build = await templateBuild(this.o.templateId);
    if (build !== undefined) {
      if (this.#missingLogged) this.o.logger.info('template is built now; warm pool filling', this.#logFields());
      this.#missingLogged = false;
      return build;
    }
    if (!this.#missingLogged) {
      const howToBuild = this.o.buildHint?.(this.o.templateId);
      this.o.logger.warn('template is not built; its warm pool stays empty until it is', {
        ...this.#logFields(),
        ...(howToBuild ? { howToBuild } : {}),
      });
    }
    this.#missingLogged = true;
    throw new TemplateMissing();
  }

  #logFields() {
    return { templateId: this.o.templateId, size: this.o.size };
  }

  /**
   * Stops refilling, aborts the starts under way (each rolls itself back, or is killed once up)
   * and kills every pooled sandbox: they belong to nobody, so none may survive the server.
   * Bounded: a start that has not settled after closeTimeoutMs is killed by id. Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    clearTimeout(this.#retryTimer);
    this.#abort.abort(new SandboxdError('SHUTTING_DOWN', 'the warm pool is closing'));
    const starting = [...this.#starting];
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), closeTimeoutMs);
    });
    const settled = await Promise.race([Promise.allSettled(starting.map(([, p]) => p)), timedOut]);
    clearTimeout(timer);
    if (settled === 'timeout') {
      const stuck = starting.filter(([id]) => this.#starting.has(id)).map(([id]) => id);
      this.o.logger.error('warm pool starts did not settle at shutdown; killing them', {
        ...this.#logFields(),
        sandboxIds: stuck,
      });
      await Promise.all(stuck.map((id) => this.#kill(id)));
    }
    const waiting = this.#ready.splice(0);
    await Promise.all(waiting.map((p) => this.#kill(p.endpoint.sandboxId)));
  }

  /** Never throws: a pool sandbox that cannot be killed is logged, and the next start-up sweeps it. */
  async #kill(sandboxId: string): Promise<void> {
    await this.o.runtime.kill(sandboxId).catch((err: unknown) => {
      this.o.logger.error('could not kill a warm pool sandbox', { templateId: this.o.templateId, sandboxId, err });
    });
  }
}
