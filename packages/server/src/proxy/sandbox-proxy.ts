import http from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { type Logger, SandboxdError } from '@sandboxd/common';
import type { SandboxRoute } from '../lifecycle/sandbox-service.js';
import type { Metrics } from '../metrics/registry.js';
import { type ProxyTarget, sandboxIdHint } from './match.js';
import { dialSandboxPort, PortClosedError, TunnelAgent } from './port-tunnel.js';
import { endWithProxyError, sendProxyError } from './proxy-errors.js';
import { type SignedCandidate, signedFilesTarget } from './signed-files.js';

/** Hop-by-hop headers (RFC 9110, section 7.6.1) never cross the proxy. */
const hopByHop = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

function forwardHeaders(headers: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  const out: http.OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !hopByHop.has(name)) out[name] = value;
  }
  return out;
}

export interface SandboxProxyOptions {
  route: (sandboxId: string) => SandboxRoute | undefined;
  /** Running sandboxes that have an envd access token, for header-less signed /files URLs. */
  signedCandidates: () => SignedCandidate[];
  logger: Logger;
  metrics: Metrics;
}

/**
 * Streams requests to a sandbox's envd or user port without buffering (Connect streams stay open
 * for hours). Each sandbox gets its own keep-alive agent, and every open exchange is tracked so
 * that when the sandbox stops, its streams are destroyed at the transport level: the SDK then sees
 * `terminated`, probes /health, gets 502 and reports the sandbox as gone.
 *
 * `close()` destroys every open exchange and pool; requests after it answer SHUTTING_DOWN (503).
 */
export class SandboxProxy {
  readonly #agents = new Map<string, http.Agent>();
  readonly #tunnelAgents = new Map<string, TunnelAgent>();
  readonly #open = new Map<string, Set<Duplex | Exchange>>();
  #closed = false;

  constructor(private readonly o: SandboxProxyOptions) {}

  /**
   * A signed `downloadUrl()`/`uploadUrl()` fetched as is carries no sandbox id when the SDK is
   * pointed at one shared E2B_SANDBOX_URL: find the sandbox whose token the signature is made with.
   */
  matchSignedFiles(req: http.IncomingMessage): ProxyTarget | undefined {
    return signedFilesTarget(req.method, req.url, this.o.signedCandidates);
  }

  handle(req: http.IncomingMessage, res: http.ServerResponse, target: ProxyTarget | 'invalid'): void {
    const route = this.#routeFor(target);
    if (route instanceof SandboxdError || target === 'invalid') {
      sendProxyError(res, route, sandboxIdHint(req.headers));
      return;
    }
    const upstream = http.request({
      host: route.address,
      port: target.port,
      method: req.method,
      path: req.url,
      headers: forwardHeaders(req.headers),
      // envd directly; any other port through envd's loopback tunnel (port-tunnel.ts).
      agent: target.port === route.envdPort ? this.#agent(route.sandboxId) : this.#tunnelAgent(route),
    });
    // When the sandbox goes away mid-request, an exchange whose answer has not begun gets the same
    // 502 as a request for a sandbox that is not running (the SDKs read that as "not running");
    // only an answer already under way is cut.
    let dropped = false;
    const exchange: Exchange = {
      abandon: () => {
        if (res.headersSent) return void res.destroy();
        dropped = true;
        upstream.destroy();
        sendProxyError(res, new SandboxdError('PROXY_SANDBOX_NOT_FOUND'), route.sandboxId);
      },
    };
    const untrack = this.#track(route.sandboxId, exchange);
    this.o.metrics.proxiedStreams.inc();
    // Set once the upstream response has fully arrived; destroying the request after that would
    // kill a healthy keep-alive socket that is already back in the agent's pool.
    let upstreamComplete = false;
    res.on('close', () => {
      untrack();
      this.o.metrics.proxiedStreams.dec();
      if (!upstreamComplete && !upstream.destroyed) upstream.destroy();
    });
    upstream.on('response', (upstreamRes) => {
      if (dropped) return void upstreamRes.destroy();
      upstreamRes.on('end', () => {
        upstreamComplete = true;
      });
      res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.statusMessage, forwardHeaders(upstreamRes.headers));
      upstreamRes.pipe(res);
      upstreamRes.on('error', () => res.destroy());
      upstreamRes.on('aborted', () => res.destroy());
    });
    upstream.on('error', (err) => {
      if (dropped) return;
      if (res.headersSent) {
        res.destroy();
        return;
      }
      this.o.logger.debug('proxy upstream error', { sandboxId: route.sandboxId, port: target.port, err });
      sendProxyError(res, unreachable(err, target.port), route.sandboxId, target.port);
    });
    req.pipe(upstream);
    req.on('error', () => upstream.destroy());
  }

  /** WebSocket and other upgrades to a sandbox port: a raw byte tunnel after the request head. */
  handleUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer, target: ProxyTarget | 'invalid'): void {
    const route = this.#routeFor(target);
    if (route instanceof SandboxdError || target === 'invalid') {
      endWithProxyError(socket, route, sandboxIdHint(req.headers));
      return;
    }
    const untrackA = this.#track(route.sandboxId, socket);
    socket.on('error', () => socket.destroy());
    const connected = (upstream: net.Socket) => {
      const untrackB = this.#track(route.sandboxId, upstream);
      const close = () => {
        untrackA();
        untrackB();
        socket.destroy();
        upstream.destroy();
      };
      upstream.on('error', close);
      socket.on('error', close);
      upstream.on('close', close);
      socket.on('close', close);
      let headText = `${req.method} ${req.url} HTTP/1.1\r\n`;
      for (let i = 0; i < req.rawHeaders.length; i += 2)
        headText += `${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}\r\n`;
      upstream.write(`${headText}\r\n`);
      if (head.length > 0) upstream.write(head);
      socket.pipe(upstream).pipe(socket);
    };
    const failed = (err: unknown) => {
      untrackA();
      endWithProxyError(socket, unreachable(err, target.port), route.sandboxId, target.port);
    };
    if (target.port === route.envdPort) {
      const upstream = net.connect(target.port, route.address);
      upstream.once('connect', () => connected(upstream));
      upstream.once('error', failed);
    } else {
      dialSandboxPort(route.address, route.envdPort, target.port, (err, upstream) => {
        if (err || !upstream) failed(err);
        else connected(upstream);
      });
    }
  }

  /** The sandbox stopped serving: drop every open exchange and its connection pool. */
  dropSandbox(sandboxId: string): void {
    for (const open of this.#open.get(sandboxId) ?? []) {
      if ('abandon' in open) open.abandon();
      else open.destroy();
    }
    this.#open.delete(sandboxId);
    this.#agents.get(sandboxId)?.destroy();
    this.#agents.delete(sandboxId);
    this.#tunnelAgents.get(sandboxId)?.destroy();
    this.#tunnelAgents.delete(sandboxId);
  }

  /** Drops every open exchange and pool; later requests answer SHUTTING_DOWN. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const sandboxId of [...this.#open.keys(), ...this.#agents.keys(), ...this.#tunnelAgents.keys()]) {
      this.dropSandbox(sandboxId);
    }
  }

  /** Where to send this request, or why it cannot be sent anywhere. */
  #routeFor(target: ProxyTarget | 'invalid'): SandboxRoute | SandboxdError {
    if (this.#closed) return new SandboxdError('SHUTTING_DOWN');
    const route = target === 'invalid' ? undefined : this.o.route(target.sandboxId);
    return route ?? new SandboxdError('PROXY_SANDBOX_NOT_FOUND');
  }

  #tunnelAgent(route: SandboxRoute): TunnelAgent {
    let agent = this.#tunnelAgents.get(route.sandboxId);
    if (!agent) {
      agent = new TunnelAgent(route.envdPort, { keepAlive: true, keepAliveMsecs: 10_000, maxFreeSockets: 16 });
      this.#tunnelAgents.set(route.sandboxId, agent);
    }
    return agent;
  }

  #agent(sandboxId: string): http.Agent {
    let agent = this.#agents.get(sandboxId);
    if (!agent) {
      agent = new http.Agent({ keepAlive: true, keepAliveMsecs: 10_000, maxFreeSockets: 16 });
      this.#agents.set(sandboxId, agent);
    }
    return agent;
  }

  #track(sandboxId: string, stream: Duplex | Exchange): () => void {
    let set = this.#open.get(sandboxId);
    if (!set) {
      set = new Set();
      this.#open.set(sandboxId, set);
    }
    set.add(stream);
    return () => {
      const current = this.#open.get(sandboxId);
      current?.delete(stream);
      if (current?.size === 0) this.#open.delete(sandboxId);
    };
  }
}

/** A proxied HTTP request in flight, and how to end it when its sandbox goes away. */
interface Exchange {
  abandon(): void;
}

/** A route exists but its port did not answer: the catalog error, with the transport's as cause. */
function unreachable(err: unknown, port: number): SandboxdError {
  return err instanceof PortClosedError
    ? new SandboxdError('PROXY_PORT_CLOSED', `The sandbox is running but port ${port} is not open`, { cause: err })
    : new SandboxdError('PROXY_PORT_UNREACHABLE', `The sandbox is running but port ${port} is not reachable`, {
        cause: err,
      });
}
