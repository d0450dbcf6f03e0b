/**
 * The event stream of Start and Connect: exactly one `start {pid}` first, then the output (first
 * what nobody received while no client was attached, then live), keepalives while idle, and
 * exactly one `end`. A client that goes away stops its stream only; the process keeps running
 * and what the client never took goes back into the process's backlog for the next Connect.
 * When the stream's deadline passes it ends with deadline_exceeded instead of `end` (deadline.ts);
 * for Start the deadline also killed the process, and that kill's `end` is reported the same way.
 */
import type { MessageInitShape } from '@bufbuild/protobuf';
import type { ProcessEventSchema } from '@sandboxd/protocol';
import { deadlineExceeded, throwIfDeadlinePassed } from '../deadline.js';
import { EventQueue, KEEPALIVE } from '../event-queue.js';
import type { ManagedProcess, ProcessOutput } from './managed-process.js';

type ProcessEventInit = MessageInitShape<typeof ProcessEventSchema>;

export interface OutputSubscription {
  queue: EventQueue<ProcessOutput>;
  detach: () => void;
}

/** Subscribe synchronously right after spawn/lookup, so no output slips past before `start`. */
export function subscribeOutput(proc: ManagedProcess): OutputSubscription {
  const queue = new EventQueue<ProcessOutput>({
    weigh: (event) => (event.kind === 'end' ? 0 : event.data.byteLength),
    onTake: () => proc.relieve(),
  });
  const detach = proc.subscribe({
    push: (event) => {
      queue.push(event);
      if (event.kind === 'end') queue.close();
    },
    get pendingBytes() {
      return queue.pendingWeight;
    },
  });
  return { queue, detach: () => detach(queue.takeRemaining()) };
}

export interface StreamOptions {
  signal: AbortSignal;
  keepaliveMs: number;
  /** Start's stream: its deadline is the process's lifetime (ManagedProcess.killAfter). */
  ownsProcessDeadline: boolean;
}

export async function* processEvents(
  proc: ManagedProcess,
  subscription: OutputSubscription,
  options: StreamOptions,
): AsyncGenerator<{ event: ProcessEventInit }> {
  try {
    yield { event: { event: { case: 'start', value: { pid: proc.pid } } } };
    for await (const item of subscription.queue.drain(options.signal, options.keepaliveMs)) {
      if (item === KEEPALIVE) {
        yield { event: { event: { case: 'keepalive', value: {} } } };
      } else if (item.kind === 'end') {
        if (options.ownsProcessDeadline && proc.killedAtDeadline) throw deadlineExceeded();
        yield { event: { event: { case: 'end', value: item.exit } } };
        return;
      } else {
        yield { event: { event: { case: 'data', value: { output: { case: item.kind, value: item.data } } } } };
      }
    }
    throwIfDeadlinePassed(options.signal);
  } finally {
    subscription.detach();
  }
}
