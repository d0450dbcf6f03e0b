/**
 * The event stream of Start and Connect (§3.4): exactly one `start {pid}` first, then the output
 * (only what arrives from now on: nothing is replayed), keepalives while idle, and exactly one
 * `end`. A client that goes away stops its stream only; the process keeps running.
 */
import type { MessageInitShape } from '@bufbuild/protobuf';
import type { ProcessEventSchema } from '@sandboxd/protocol';
import { EventQueue, KEEPALIVE } from '../event-queue.js';
import type { ManagedProcess, ProcessOutput } from './managed-process.js';

type ProcessEventInit = MessageInitShape<typeof ProcessEventSchema>;

/** Subscribe synchronously right after spawn/lookup, so no output slips past before `start`. */
export function subscribeOutput(proc: ManagedProcess): { queue: EventQueue<ProcessOutput>; unsubscribe: () => void } {
  const queue = new EventQueue<ProcessOutput>();
  const unsubscribe = proc.subscribe((event) => {
    queue.push(event);
    if (event.kind === 'end') queue.close();
  });
  return { queue, unsubscribe };
}

export async function* processEvents(
  proc: ManagedProcess,
  subscription: { queue: EventQueue<ProcessOutput>; unsubscribe: () => void },
  signal: AbortSignal,
  keepaliveMs: number,
): AsyncGenerator<{ event: ProcessEventInit }> {
  try {
    yield { event: { event: { case: 'start', value: { pid: proc.pid } } } };
    for await (const item of subscription.queue.drain(signal, keepaliveMs)) {
      if (item === KEEPALIVE) {
        yield { event: { event: { case: 'keepalive', value: {} } } };
      } else if (item.kind === 'end') {
        yield { event: { event: { case: 'end', value: item.exit } } };
        return;
      } else {
        yield { event: { event: { case: 'data', value: { output: { case: item.kind, value: item.data } } } } };
      }
    }
  } finally {
    subscription.unsubscribe();
  }
}
