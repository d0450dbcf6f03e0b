import { type Logger, newSandboxId, randomToken } from '@sandboxd/common';
import { ENVD_CONFIG_ENV, ENVD_PORT, encodeEnvdBootConfig } from '@sandboxd/protocol';
import type { SandboxEndpoint, SandboxLimits, SandboxRuntime } from '@sandboxd/runtime';

const retryAfterMs = 30_000;

export interface PooledSandbox {
  endpoint: SandboxEndpoint;
  initToken: string;
}

export interface WarmPoolOptions {
  size: number;
  templateId: string;
  limits: SandboxLimits;
  runtime: SandboxRuntime;
  logger: Logger;
}

/**
 * Sandboxes started ahead of demand, so that a create only has to hand one over (envd's one-shot
 * `POST /init`) instead of waiting ~150 ms for runc and Node to start. Pool sandboxes have no
 * store row and no route: nothing can reach them but the control plane, and after a crash the
 * start-up sweep removes them like any other orphan. `close()` kills whatever is still waiting.
 *
 * Only sandboxes of the pool's template and default limits come from the pool; anything else
 * starts cold.
 */
export class WarmPool {
  readonly #ready: PooledSandbox[] = [];
  #starting = 0;
  #closed = false;
  #failures = 0;
  #inFlight: Promise<void> | undefined;
  #retryTimer: NodeJS.Timeout | undefined;

  constructor(private readonly o: WarmPoolOptions) {}

  take(): PooledSandbox | undefined {
    const pooled = this.#ready.shift();
    this.fill();
    return pooled;
  }

  /** Starts sandboxes in the background until the pool is full; one at a time, to spare the CPU. */
  fill(): void {
    if (this.#closed || this.#starting > 0 || this.#ready.length >= this.o.size) return;
    // After repeated failures (e.g. the template is being rebuilt) pause instead of spinning,
    // then try again: creates meanwhile start cold.
    if (this.#failures >= 3) {
      this.#retryTimer ??= setTimeout(() => {
        this.#retryTimer = undefined;
        this.#failures = 0;
        this.fill();
      }, retryAfterMs).unref();
      return;
    }
    this.#starting++;
    this.#inFlight = this.#startOne()
      .then(
        (pooled) => {
          this.#failures = 0;
          if (this.#closed) return this.o.runtime.kill(pooled.endpoint.sandboxId);
          this.#ready.push(pooled);
        },
        (err: unknown) => {
          this.#failures++;
          this.o.logger.warn('warm pool could not start a sandbox', { err, failures: this.#failures });
        },
      )
      .finally(() => {
        this.#starting--;
        this.fill();
      });
  }

  get templateId(): string {
    return this.o.templateId;
  }

  async #startOne(): Promise<PooledSandbox> {
    const sandboxId = newSandboxId();
    const initToken = randomToken(24);
    const endpoint = await this.o.runtime.create({
      sandboxId,
      templateId: this.o.templateId,
      limits: this.o.limits,
      envdEnv: {
        [ENVD_CONFIG_ENV]: encodeEnvdBootConfig({
          sandboxId,
          envVars: {},
          defaultUser: 'user',
          port: ENVD_PORT,
          initToken,
        }),
      },
    });
    return { endpoint, initToken };
  }

  /** Stop refilling and kill every pooled sandbox (they belong to nobody, so none must survive). */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#retryTimer);
    // A sandbox still starting is killed by its own completion handler once it is up.
    await this.#inFlight;
    const waiting = this.#ready.splice(0);
    await Promise.allSettled(waiting.map((p) => this.o.runtime.kill(p.endpoint.sandboxId)));
  }
}
