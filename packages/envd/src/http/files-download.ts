/**
 * GET /files: the file's raw bytes, single-range `Range` support, or gzip-compressed when the
 * client asks for exactly that (content-encoding.ts). Never buffers a whole file: sandboxes hold
 * multi-GB files.
 *
 * The size from stat is not trusted for whole-file reads: /proc and /sys files report 0 (or a
 * page) and files being written change while they are read. The first MiB is read before the
 * answer starts: a file that ends within it (nearly every file, and every /proc file) gets an
 * exact Content-Length; a longer one is streamed to its end, chunked. A Range is cut from the
 * size at open, and a file that shrinks below it cuts the connection (never a short body).
 */
import { constants as fsConstants } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import fs from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { constants, createGzip } from 'node:zlib';
import { SandboxdError } from '@sandboxd/common';
import type { EnvdConfig } from '../config.js';
import { errnoToError } from '../system/errno.js';
import { resolveUserPath } from '../system/paths.js';
import { parseRange, UnsatisfiableRange } from './byte-range.js';
import { chooseDownloadEncoding } from './content-encoding.js';
import { parseFilesRequest } from './files-request.js';

// 1 MiB reads: a quarter of the thread-pool round trips of the 64 KiB default (bench/files.ts).
const CHUNK = 1024 * 1024;

export async function handleDownload(
  req: IncomingMessage,
  res: ServerResponse,
  query: URLSearchParams,
  config: EnvdConfig,
): Promise<void> {
  const { user, rawPath } = await parseFilesRequest(req, query, 'read', config);
  // Ranges are served from the identity encoding (offsets into the file, not into a gzip stream).
  const encoding = req.headers.range ? 'identity' : chooseDownloadEncoding(req.headers['accept-encoding']);
  if (encoding === 'unacceptable') throw new SandboxdError('ENCODING_NOT_ACCEPTABLE');
  const filePath = resolveUserPath(rawPath ?? '', user, config.defaultWorkdir);
  // Open first, then fstat the descriptor: what we describe is what we stream. Non-blocking, so
  // a FIFO without a writer is refused below instead of hanging one of libuv's four fs threads.
  const handle = await fs.open(filePath, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK).catch((err) => {
    throw errnoToError(err, filePath);
  });
  try {
    const stat = await handle.stat();
    if (stat.isDirectory()) throw new SandboxdError('INVALID_REQUEST', `path '${filePath}' is a directory`);
    if (!stat.isFile()) throw new SandboxdError('INVALID_REQUEST', `path '${filePath}' is not a regular file`);
    const headers = {
      'content-type': 'application/octet-stream',
      'last-modified': stat.mtime.toUTCString(),
    };
    // A 0-byte stat may be a /proc file with content: no range can be cut from it, serve it whole.
    const range = stat.size > 0 ? parseRange(req.headers.range, stat.size) : undefined;
    if (range === 'unsatisfiable') {
      throw new SandboxdError('RANGE_NOT_SATISFIABLE', undefined, { cause: new UnsatisfiableRange(stat.size) });
    }
    if (encoding === 'gzip') {
      res.writeHead(200, { ...headers, 'content-encoding': 'gzip', vary: 'accept-encoding' });
      if (req.method === 'HEAD') return void res.end();
      const gzip = createGzip({ level: constants.Z_BEST_SPEED });
      await pipeline(handle.createReadStream({ highWaterMark: CHUNK, autoClose: false }), gzip, res);
      return;
    }
    if (range) {
      const length = range.end - range.start + 1;
      res.writeHead(206, {
        ...headers,
        'accept-ranges': 'bytes',
        'content-length': length,
        'content-range': `bytes ${range.start}-${range.end}/${stat.size}`,
      });
      if (req.method === 'HEAD') return void res.end();
      const stream = handle.createReadStream({
        start: range.start,
        end: range.end,
        highWaterMark: CHUNK,
        autoClose: false,
      });
      await pipeline(stream, exactly(length, filePath), res);
      return;
    }
    const head = await readPrefix(handle, CHUNK, filePath);
    const complete = head.length < CHUNK;
    res.writeHead(200, {
      ...headers,
      'accept-ranges': 'bytes',
      ...(complete ? { 'content-length': head.length } : {}),
    });
    if (req.method === 'HEAD') return void res.end();
    if (complete) return void res.end(head);
    res.write(head);
    await pipeline(handle.createReadStream({ start: head.length, highWaterMark: CHUNK, autoClose: false }), res);
  } finally {
    await handle.close().catch(() => {});
  }
}

/** Reads from offset 0 until `limit` bytes or the end: /proc files may answer in short reads. */
async function readPrefix(handle: FileHandle, limit: number, filePath: string): Promise<Buffer> {
  const buffer = Buffer.alloc(limit);
  let filled = 0;
  while (filled < limit) {
    const { bytesRead } = await handle.read(buffer, filled, limit - filled, filled).catch((err) => {
      throw errnoToError(err, filePath);
    });
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return buffer.subarray(0, filled);
}

/** Passes `length` bytes through and fails if the source ends short (the file shrank). */
function exactly(length: number, filePath: string): (source: AsyncIterable<Buffer>) => AsyncGenerator<Buffer> {
  return async function* (source) {
    let seen = 0;
    for await (const chunk of source) {
      seen += chunk.length;
      yield chunk;
    }
    if (seen < length) throw new SandboxdError('INTERNAL', `'${filePath}' shrank while it was read`);
  };
}
