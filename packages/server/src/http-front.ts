import http from 'node:http';
import { httpStatusForKind, SandboxdError } from '@sandboxd/common';
import { ACCESS_TOKEN_HEADER } from '@sandboxd/protocol';
import type { CorsHandler } from './cors.js';
import type { SandboxService } from './lifecycle/sandbox-service.js';
import { matchSandboxRequest, type ProxyTarget } from './proxy/match.js';
import { endWithJson, endWithProxyError, sendProxyError } from './proxy/proxy-errors.js';
import type { SandboxProxy } from './proxy/sandbox-proxy.js';

export interface HttpFrontOptions {
  /** The REST API (Hono's Node listener). */
  api: http.RequestListener;
  proxy: SandboxProxy;
  service: Pick<SandboxService, 'route' | 'wakeOnTraffic'>;
  /** Cross-origin access for browsers (cors.ts); absent when `--cors-origins` is off. */
  cors?: CorsHandler | undefined;
}

/**
 * The one port: requests for a sandbox (E2b-Sandbox-Id header, `<port>-<id>.<domain>` host, or a
 * signed /files URL) go to the proxy, everything else to the API.
 */
export function createHttpFront(o: HttpFrontOptions): http.Server {
  const sandboxIdOf = (target: ProxyTarget | 'invalid') => (target === 'invalid' ? '' : target.sandboxId);
  // Traffic for a sandbox that is not routed may wake it (paused with autoResume) first, when it
  // carries the credential its port requires; otherwise it is refused and the sandbox stays paused.
  const wake = (
    target: ReturnType<typeof matchSandboxRequest>,
    req: http.IncomingMessage,
  ): Promise<SandboxdError | undefined> | undefined =>
    target && target !== 'invalid' && !o.service.route(target.sandboxId)
      ? o.service.wakeOnTraffic(target.sandboxId, {
          port: target.port,
          method: req.method,
          url: req.url,
          accessToken: req.headers[ACCESS_TOKEN_HEADER],
        })
      : undefined;
  const server = http.createServer((req, res) => {
    // First: a preflight is answered here (no key, no rate limit, no wake), for API and proxy alike.
    if (o.cors?.(req, res)) return;
    const target = matchSandboxRequest(req.headers) ?? o.proxy.matchSignedFiles(req);
    if (!target) {
      void o.api(req, res);
      return;
    }
    const waking = wake(target, req);
    if (waking) {
      void waking.then((refused) =>
        refused ? sendProxyError(res, refused, sandboxIdOf(target)) : o.proxy.handle(req, res, target),
      );
    } else o.proxy.handle(req, res, target);
  });
  server.on('upgrade', (req, socket, head) => {
    const target = matchSandboxRequest(req.headers);
    if (!target) {
      // The API has no upgrade routes: its own 404, on the socket.
      const err = new SandboxdError('ROUTE_NOT_FOUND', `no upgrade route for ${req.method} ${req.url}`);
      const status = httpStatusForKind(err.kind);
      endWithJson(socket, status, { code: status, message: err.message });
      return;
    }
    const waking = wake(target, req);
    if (waking) {
      void waking.then((refused) =>
        refused
          ? endWithProxyError(socket, refused, sandboxIdOf(target))
          : o.proxy.handleUpgrade(req, socket, head, target),
      );
    } else o.proxy.handleUpgrade(req, socket, head, target);
  });
  // Proxied uploads and streams may legitimately take hours; headers must still arrive promptly.
  server.requestTimeout = 0;
  server.headersTimeout = 60_000;
  return server;
}

/**
 * Stops accepting connections; idle ones close now, busy ones get `graceMs` to finish. Resolves
 * at the latest after `graceMs` even if Node never calls back: the close callback waits for a
 * connection count that upgraded sockets can leave above zero after they are gone, and then
 * nothing keeps the event loop alive, so the process would exit with the rest of the shutdown
 * (the warm pool's sandboxes) undone. The timer is deliberately not unref'd.
 */
export function closeHttpServer(server: http.Server, graceMs: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      // Proxied streams are not ours to wait for: they belong to sandboxes that keep running.
      server.closeAllConnections();
      resolve();
    }, graceMs);
    // Not listening (a failed listen) answers the callback with an error: nothing to wait for.
    server.close(() => {
      clearTimeout(timer);
      resolve();
    });
    server.closeIdleConnections();
  });
}
