import { format } from 'node:util';
import type { TestServer } from './server-harness.js';

/**
 * A stand-in for `console` in a documentation example run as a test: the example keeps its
 * `console.log(...)` lines unchanged and the test asserts on what they printed (`console.error` lands in the same list) (formatted the way
 * Node prints it). The raw arguments are kept too, for assertions on the logged objects.
 */
export function capturingConsole(): {
  console: Pick<Console, 'log' | 'error'>;
  printed: string[];
  logged: unknown[][];
} {
  const printed: string[] = [];
  const logged: unknown[][] = [];
  const capture = (...args: unknown[]) => {
    logged.push(args);
    printed.push(format(...args));
  };
  return { printed, logged, console: { log: capture, error: capture } };
}

/**
 * Kills every sandbox `server` knows. The examples create sandboxes and, like most snippets, never
 * kill them; run after each one so that the next example's `Sandbox.list()` sees only its own.
 */
export async function killAllSandboxes(server: TestServer): Promise<void> {
  for (let round = 0; round < 10; round++) {
    const res = await server.api('GET', '/v2/sandboxes?state=running,paused');
    const list = (await res.json()) as Array<{ sandboxID: string }>;
    if (list.length === 0) return;
    await Promise.all(list.map((s) => server.api('DELETE', `/sandboxes/${s.sandboxID}`)));
  }
  throw new Error('sandboxes are still listed after 10 rounds of kills');
}

/** Polls `check` until it is true, for output an example's callback prints after the example ends. */
export async function eventually(check: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
