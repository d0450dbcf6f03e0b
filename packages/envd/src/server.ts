/**
 * envd's HTTP server: `/health`, `/ready`, `/init`, `/envs` and `/files` as plain routes, everything else
 * through the Connect adapter (`/process.Process/*`, `/filesystem.Filesystem/*`), and
 * `CONNECT 127.0.0.1:<port>` for the proxy to reach loopback-only user ports. HTTP/1.1 only:
 * E2B's SDKs never attempt h2c. Every error status comes from the catalog (http/errors.ts).
 */
import http from 'node:http';
import { connectNodeAdapter } from '@connectrpc/connect-node';
import { type Logger, SandboxdError } from '@sandboxd/common';
import { ACCESS_TOKEN_HEADER, Filesystem, Process } from '@sandboxd/protocol';
import { checkAccessToken } from './auth/access-token.js';
import type { EnvdConfig } from './config.js';
import { sendError, sendJson } from './http/errors.js';
import { handleFiles } from './http/files-route.js';
import { handleInit } from './http/init-route.js';
import { handlePortTunnel } from './ports/port-tunnel.js';
import { guardBinaryRequest } from './rpc/binary-request-guard.js';
import { filesystemService } from './rpc/filesystem/filesystem-service.js';
import { envdInterceptor } from './rpc/interceptor.js';
import { processService } from './rpc/process/process-service.js';
import { ProcessTable } from './rpc/process/process-table.js';
import { TemplateStart } from './start/template-start.js';
import { FileMetadataStore } from './system/file-metadata.js';

export interface Envd {
  server: http.Server;
  processes: ProcessTable;
  /** The template's start command, when it has one; started with envd. */
  start?: TemplateStart;
}

export function createEnvd(config: EnvdConfig, log: Logger): Envd {
  const processes = new ProcessTable();
  const start = config.start ? new TemplateStart(config.start, config, processes, log) : undefined;
  void start?.run();
  const metadata = new FileMetadataStore(config.envdHelper);
  const rpc = connectNodeAdapter({
    routes: (router) => {
      router.service(Process, processService(config, processes));
      router.service(Filesystem, filesystemService(config, metadata));
    },
    interceptors: [envdInterceptor(() => config.accessToken, log)],
    // An unknown path: the catalog's 404 in E2B's body shape (the server below is HTTP/1.1 only).
    fallback: (req, res) =>
      sendError(
        res as http.ServerResponse,
        new SandboxdError('ROUTE_NOT_FOUND', `no route for ${req.method} ${req.url}`),
        log,
      ),
  });
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://envd');
    if (url.pathname === '/health') {
      // No token needed: the proxy and `sandbox.isRunning()` probe it.
      res.writeHead(204).end();
      return;
    }
    if (url.pathname === '/ready') {
      // No token, like /health: the runtime waits on it before anyone owns the sandbox.
      const notReady = start?.readiness();
      if (notReady) sendError(res, notReady, log);
      else res.writeHead(204).end();
      return;
    }
    if (url.pathname === '/init') {
      void handleInit(req, res, config, log);
      return;
    }
    if (config.initToken !== undefined) {
      // A warm-pool sandbox nobody owns yet: nothing but /health and /init.
      sendError(res, new SandboxdError('SANDBOX_NOT_INITIALISED'), log);
      return;
    }
    if (url.pathname === '/envs') {
      handleEnvs(req, res, config, log);
      return;
    }
    if (url.pathname === '/files') {
      void handleFiles(req, res, url.searchParams, config, log, metadata);
      return;
    }
    const refused = refuseRpc(req, url.pathname);
    if (refused) {
      sendError(res, refused, log, refused.code === 'METHOD_NOT_ALLOWED' ? { allow: 'POST' } : {});
      return;
    }
    void guardBinaryRequest(req, res, url.pathname, config.accessToken).then(
      (answered) => {
        if (!answered) rpc(req, res);
      },
      (err: unknown) => sendError(res, err, log),
    );
  });
  server.on('connect', (req, socket, head) => {
    // A warm-pool sandbox nobody owns yet serves no ports either.
    handlePortTunnel(req, socket, head, config.initToken !== undefined);
  });
  // Uploads and process streams legitimately last for hours; the default 300 s request timeout
  // would cut an upload off midway.
  server.requestTimeout = 0;
  return { server, processes, ...(start ? { start } : {}) };
}

/** envd.yaml's GET /envs: the sandbox-wide env vars from create (orchestrator-internal). */
function handleEnvs(req: http.IncomingMessage, res: http.ServerResponse, config: EnvdConfig, log: Logger): void {
  const token = checkAccessToken(req.headers[ACCESS_TOKEN_HEADER], config.accessToken);
  if (token === 'missing' || token === 'invalid') {
    sendError(res, new SandboxdError('UNAUTHENTICATED', 'invalid access token'), log);
  } else if (req.method !== 'GET') {
    sendError(res, new SandboxdError('METHOD_NOT_ALLOWED', `method ${req.method} not allowed`), log, { allow: 'GET' });
  } else {
    sendJson(res, 200, config.envVars);
  }
}

const rpcPaths = /^\/(?:process\.Process|filesystem\.Filesystem)\//;
const rpcContentTypes =
  /^application\/(?:json|proto|connect\+(?:json|proto)|grpc(?:-web(?:-text)?)?(?:\+(?:json|proto))?)\s*(?:;|$)/i;

/**
 * What connect-es would refuse with a bare status and no body (a GET, a non-RPC content type):
 * refused here instead, with the catalog's status and body.
 */
function refuseRpc(req: http.IncomingMessage, pathname: string): SandboxdError | undefined {
  if (!rpcPaths.test(pathname)) return undefined;
  if (req.method !== 'POST') return new SandboxdError('METHOD_NOT_ALLOWED', `method ${req.method} not allowed`);
  const type = req.headers['content-type'] ?? '';
  if (!rpcContentTypes.test(type)) {
    return new SandboxdError('UNSUPPORTED_MEDIA_TYPE', `unsupported content type '${type}' for an RPC`);
  }
  return undefined;
}
