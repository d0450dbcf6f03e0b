/**
 * GET /files (§3.2.2): the file's raw bytes, streamed from disk with a Content-Length and
 * single-range `Range` support, or gzip-compressed when the client asks for exactly that
 * (content-encoding.ts). Never buffers a whole file: sandboxes hold multi-GB files.
 */
import fs from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { constants, createGzip } from 'node:zlib';
import { SandboxdError } from '@sandboxd/common';
import type { EnvdConfig } from '../config.js';
import { errnoToError } from '../system/errno.js';
import { resolveUserPath } from '../system/paths.js';
import { chooseDownloadEncoding } from './content-encoding.js';
import { sendJson } from './errors.js';
import { parseFilesRequest } from './files-request.js';

export async function handleDownload(
  req: IncomingMessage,
  res: ServerResponse,
  query: URLSearchParams,
  config: EnvdConfig,
): Promise<void> {
  const { user, rawPath } = await parseFilesRequest(req, query, 'read', config);
  // Ranges are served from the identity encoding (offsets into the file, not into a gzip stream).
  const encoding = req.headers.range ? 'identity' : chooseDownloadEncoding(req.headers['accept-encoding']);
  if (encoding === 'unacceptable') {
    // 406 is this route's alone, so it is answered here rather than through the error catalog.
    sendJson(res, 406, { code: 406, message: 'no acceptable encoding found, supported: [identity, gzip]' });
    return;
  }
  const filePath = resolveUserPath(rawPath ?? '', user, config.defaultWorkdir);
  // Open first, then fstat the descriptor: the size we announce is the size of what we stream.
  const handle = await fs.promises.open(filePath, 'r').catch((err) => {
    throw errnoToError(err, filePath);
  });
  try {
    const stat = await handle.stat();
    if (stat.isDirectory()) throw new SandboxdError('INVALID_REQUEST', `path '${filePath}' is a directory`);
    if (!stat.isFile()) throw new SandboxdError('INVALID_REQUEST', `path '${filePath}' is not a regular file`);
    const range = parseRange(req.headers.range, stat.size);
    if (range === 'unsatisfiable') {
      res.writeHead(416, { 'content-range': `bytes */${stat.size}` });
      res.end();
      return;
    }
    if (encoding === 'gzip') {
      res.writeHead(200, {
        'content-type': 'application/octet-stream',
        'content-encoding': 'gzip',
        vary: 'accept-encoding',
        'last-modified': stat.mtime.toUTCString(),
      });
      if (req.method === 'HEAD') {
        res.end();
        return;
      }
      await pipeline(
        handle.createReadStream({ highWaterMark: 1024 * 1024 }),
        createGzip({ level: constants.Z_BEST_SPEED }),
        res,
      );
      return;
    }
    const start = range?.start ?? 0;
    const end = range?.end ?? stat.size - 1;
    const headers: Record<string, string | number> = {
      'content-type': 'application/octet-stream',
      'content-length': Math.max(0, end - start + 1),
      'accept-ranges': 'bytes',
      'last-modified': stat.mtime.toUTCString(),
    };
    if (range) headers['content-range'] = `bytes ${start}-${end}/${stat.size}`;
    res.writeHead(range ? 206 : 200, headers);
    if (req.method === 'HEAD' || end < start) {
      res.end();
      return;
    }
    // 1 MiB reads: a quarter of the thread-pool round trips of the 64 KiB default (measured in bench/files.ts).
    const stream = handle.createReadStream({ start, end, highWaterMark: 1024 * 1024 });
    await pipeline(stream, res);
  } finally {
    await handle.close().catch(() => {});
  }
}

interface ByteRange {
  start: number;
  end: number;
}

/** Single `bytes=a-b` / `bytes=a-` / `bytes=-n` ranges; anything else is served in full. */
function parseRange(header: string | undefined, size: number): ByteRange | 'unsatisfiable' | undefined {
  const match = header ? /^bytes=(\d*)-(\d*)$/.exec(header.trim()) : null;
  if (!match || (match[1] === '' && match[2] === '')) return undefined;
  let start: number;
  let end: number;
  if (match[1] === '') {
    const suffix = Number(match[2]);
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(match[1]);
    end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
  }
  if (start >= size || start > end) return 'unsatisfiable';
  return { start, end };
}
