/**
 * POST /files: multipart/form-data (each part named `file`, its filename the destination, which
 * may contain `/`) or application/octet-stream (one file at the `path` query), optionally
 * gzip-compressed. Answers the written files in order, with exactly `name`, `path` and `type`.
 * A `file` part without a filename (a plain form field, as some SDK paths send string data) is
 * the content of the file at the `path` query.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { SandboxdError } from '@sandboxd/common';
import busboy from 'busboy';
import type { EnvdConfig } from '../config.js';
import { type FileMetadata, type FileMetadataStore, metadataFromHeaders } from '../system/file-metadata.js';
import { resolveUserPath } from '../system/paths.js';
import type { SandboxUser } from '../system/users.js';
import { writeFileAsUser } from '../system/write-file.js';
import { sendJson } from './errors.js';
import { parseFilesRequest } from './files-request.js';

/** A plain form field is held in memory by the parser, so it is bounded; file parts stream. */
const MAX_FIELD_BYTES = 64 * 1024 * 1024;

interface WrittenFile {
  name: string;
  path: string;
  type: 'file';
  /** Present only when the upload carried metadata (one E2B test deep-equals the body). */
  metadata?: FileMetadata;
}

interface UploadTarget {
  user: SandboxUser;
  /** The `path` query: wins over a part's filename (single-file writes send both). */
  rawPath: string | undefined;
  defaultWorkdir: string | undefined;
  /** From `X-Metadata-*` headers; applied to every file of the request, replacing what was there. */
  metadata: FileMetadata;
  store: FileMetadataStore;
}

export async function handleUpload(
  req: IncomingMessage,
  res: ServerResponse,
  query: URLSearchParams,
  config: EnvdConfig,
  store: FileMetadataStore,
): Promise<void> {
  const { user, rawPath } = await parseFilesRequest(req, query, 'write', config);
  const metadata = metadataFromHeaders(req.headers);
  const target: UploadTarget = { user, rawPath, defaultWorkdir: config.defaultWorkdir, metadata, store };
  const contentType = (req.headers['content-type'] ?? '').toLowerCase();
  let written: WrittenFile[];
  try {
    if (contentType.startsWith('multipart/form-data')) {
      written = await writeMultipart(req, openBody(req), target);
    } else if (contentType.startsWith('application/octet-stream')) {
      if (!rawPath) throw new SandboxdError('INVALID_REQUEST', 'path query parameter is required for octet-stream');
      written = [await writeOne(openBody(req), rawPath, target)];
    } else {
      throw new SandboxdError('INVALID_REQUEST', `unsupported content type '${contentType}'`);
    }
  } catch (err) {
    await discardRest(req);
    throw err;
  }
  sendJson(res, 200, written);
}

/**
 * After a failed write (disk full, bad part) the client is usually still sending: read and drop
 * the rest so it gets to read our error (507, 400) instead of a reset connection.
 */
function discardRest(req: IncomingMessage): Promise<void> {
  if (req.readableEnded || req.destroyed) return Promise.resolve();
  req.unpipe();
  return new Promise((resolve) => {
    req.once('end', resolve);
    req.once('close', resolve);
    req.resume();
  });
}

/**
 * Always a stream piped from the request: a failed file write destroys it, never the request.
 * Its error (a gzip body that is not gzip) may come while the write is still being set up, with
 * nobody listening yet; an unheard 'error' would crash envd, so one listener is always there,
 * and the pipeline that reads the stream later still fails with the stream's error.
 */
function openBody(req: IncomingMessage): Readable {
  const encoding = (req.headers['content-encoding'] ?? 'identity').toLowerCase().trim();
  let body: Readable;
  if (encoding === 'identity' || encoding === '') body = req.pipe(new PassThrough({ highWaterMark: 1024 * 1024 }));
  else if (encoding === 'gzip' || encoding === 'x-gzip') body = req.pipe(createGunzip());
  else
    throw new SandboxdError('INVALID_REQUEST', `unsupported content encoding '${encoding}', supported: identity, gzip`);
  body.on('error', () => {});
  return body;
}

async function writeOne(source: Readable, destination: string, target: UploadTarget): Promise<WrittenFile> {
  const filePath = resolveUserPath(destination, target.user, target.defaultWorkdir);
  const existed = await writeFileAsUser(source, filePath, target.user);
  const hasMetadata = Object.keys(target.metadata).length > 0;
  // A new file has no xattrs to clear: skip the round trip (1 000-file uploads, bench/files.ts).
  if (hasMetadata || existed) await target.store.replace(filePath, target.metadata);
  return {
    name: path.basename(filePath),
    path: filePath,
    type: 'file',
    ...(hasMetadata ? { metadata: target.metadata } : {}),
  };
}

/** Parts are written one after another in arrival order; busboy holds the next part until then. */
function writeMultipart(req: IncomingMessage, body: Readable, target: UploadTarget): Promise<WrittenFile[]> {
  return new Promise((resolve, reject) => {
    const written: WrittenFile[] = [];
    const seen = new Set<string>();
    let failure: unknown;
    let queue: Promise<void> = Promise.resolve();
    // The first failure answers at once: a part's stream destroyed by a failed write can leave
    // busboy waiting forever, and the caller drains the rest of the request anyway.
    const fail = (err: unknown) => {
      failure ??= err;
      reject(failure);
    };
    let parser: busboy.Busboy;
    try {
      parser = busboy({ headers: req.headers, preservePath: true, limits: { fieldSize: MAX_FIELD_BYTES } });
    } catch (err) {
      reject(new SandboxdError('INVALID_REQUEST', 'malformed multipart request', { cause: err }));
      return;
    }
    const enqueue = (stream: Readable, destination: string | undefined) => {
      queue = queue.then(async () => {
        if (failure !== undefined) return void stream.resume();
        try {
          if (!destination) throw new SandboxdError('INVALID_REQUEST', 'a file part has no filename');
          const filePath = resolveUserPath(destination, target.user, target.defaultWorkdir);
          if (seen.has(filePath)) throw new SandboxdError('INVALID_REQUEST', `path '${filePath}' is written twice`);
          seen.add(filePath);
          written.push(await writeOne(stream, destination, target));
        } catch (err) {
          stream.resume();
          fail(err);
        }
      });
    };
    parser.on('file', (field, stream, info) => {
      if (field !== 'file' || failure !== undefined) return void stream.resume();
      enqueue(stream, target.rawPath ?? info.filename);
    });
    parser.on('field', (field, value, info) => {
      if (field !== 'file' || failure !== undefined) return;
      if (info.valueTruncated) {
        fail(new SandboxdError('BODY_TOO_LARGE', `a form field is over ${MAX_FIELD_BYTES} bytes: send a file part`));
        return;
      }
      if (!target.rawPath) {
        fail(new SandboxdError('INVALID_REQUEST', 'a form field without a filename needs the path query parameter'));
        return;
      }
      enqueue(Readable.from([Buffer.from(value, 'utf8')]), target.rawPath);
    });
    parser.on('error', (err) => {
      fail(new SandboxdError('INVALID_REQUEST', 'malformed multipart request', { cause: err }));
      queue.then(() => reject(failure));
    });
    parser.on('close', () => {
      queue.then(() => {
        if (failure !== undefined) reject(failure);
        else if (written.length === 0)
          reject(new SandboxdError('INVALID_REQUEST', 'no file parts in the request (parts must be named file)'));
        else resolve(written);
      });
    });
    body.on('error', (err) => parser.destroy(err));
    body.pipe(parser);
  });
}
