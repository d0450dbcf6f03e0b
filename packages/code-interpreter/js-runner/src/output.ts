/**
 * Replaces what user code writes to: console, process.stdout and process.stderr become streams that
 * turn every write into a stdout/stderr event of the request that is running, at the moment it is
 * written. process.stdin becomes an empty stream, because the real one carries our requests.
 */
import { Console } from 'node:console';
import { Readable, Writable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { emit } from './protocol.js';

export type StreamName = 'stdout' | 'stderr';

/** Which request output belongs to: the running one, else the last one (late timers, callbacks). */
export const attribution: { id: number | null } = { id: null };

function captureStream(name: StreamName): Writable {
  const decoder = new StringDecoder('utf8');
  const stream = new Writable({
    decodeStrings: false,
    write(chunk: Buffer | string, encoding: BufferEncoding | 'buffer', callback: (error?: Error | null) => void) {
      const text =
        typeof chunk === 'string'
          ? encoding === 'buffer' || encoding === 'utf8' || encoding === 'utf-8'
            ? chunk
            : decoder.write(Buffer.from(chunk, encoding))
          : decoder.write(chunk);
      if (text) emit({ id: attribution.id, type: name, text });
      callback();
    },
  });
  // What libraries probe before writing (colors, widths); a pipe is what the real stream would be.
  Object.assign(stream, { isTTY: false, columns: 80, rows: 24, _type: 'pipe' });
  return stream;
}

function replaceProperty(target: object, key: string, value: unknown): void {
  Object.defineProperty(target, key, { configurable: true, enumerable: true, writable: true, value });
}

export function installOutputCapture(): void {
  const stdout = captureStream('stdout');
  const stderr = captureStream('stderr');
  const stdin = new Readable({ read() {} });
  stdin.push(null);
  replaceProperty(process, 'stdout', stdout);
  replaceProperty(process, 'stderr', stderr);
  replaceProperty(process, 'stdin', stdin);
  // console.log/info/debug go to stdout, console.error/warn/trace to stderr, as in Node.
  replaceProperty(globalThis, 'console', new Console({ stdout, stderr, colorMode: false }));
}
