/** /files: GET (and HEAD) downloads, POST uploads; every failure becomes `{code, message}`. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type Logger, SandboxdError } from '@sandboxd/common';
import type { EnvdConfig } from '../config.js';
import type { FileMetadataStore } from '../system/file-metadata.js';
import { UnsatisfiableRange } from './byte-range.js';
import { sendError } from './errors.js';
import { handleDownload } from './files-download.js';
import { handleUpload } from './files-upload.js';

export async function handleFiles(
  req: IncomingMessage,
  res: ServerResponse,
  query: URLSearchParams,
  config: EnvdConfig,
  log: Logger,
  metadata: FileMetadataStore,
): Promise<void> {
  try {
    if (req.method === 'GET' || req.method === 'HEAD') await handleDownload(req, res, query, config);
    else if (req.method === 'POST') await handleUpload(req, res, query, config, metadata);
    else throw new SandboxdError('METHOD_NOT_ALLOWED', `method ${req.method} not allowed`);
  } catch (err) {
    sendError(res, err, log, errorHeaders(err));
  }
}

/** The headers some statuses carry by definition: 405 names what is allowed, 416 the size. */
function errorHeaders(err: unknown): Record<string, string> {
  if (!SandboxdError.is(err)) return {};
  if (err.code === 'METHOD_NOT_ALLOWED') return { allow: 'GET, HEAD, POST' };
  if (err.code === 'RANGE_NOT_SATISFIABLE' && err.cause instanceof UnsatisfiableRange) {
    return { 'content-range': `bytes */${err.cause.size}` };
  }
  return {};
}
