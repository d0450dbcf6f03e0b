/** /files: GET downloads, POST uploads (§3.2.2, §3.2.3); every failure becomes `{code, message}`. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '@sandboxd/common';
import type { EnvdConfig } from '../config.js';
import type { FileMetadataStore } from '../system/file-metadata.js';
import { sendError, sendJson } from './errors.js';
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
    else sendJson(res, 405, { code: 405, message: `method ${req.method} not allowed` });
  } catch (err) {
    sendError(res, err, log);
  }
}
