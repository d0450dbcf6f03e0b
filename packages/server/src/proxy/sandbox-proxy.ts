import http from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from '@sandboxd/common';
import type { SandboxRoute } from '../lifecycle/sandbox-service.js';
import type { Metrics } from '../metrics/registry.js';
import { type ProxyTarget, sandboxIdHint } from './match.js';
import { dialSandboxPort, PortClosedError, TunnelAgent } from './port-tunnel.js';
import { type SignedCandidate, signedFilesTarget } from './signed-files.js';

/** Hop-by-hop headers (RFC 9110 §7.6.1) never cross the proxy. */
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
 * `terminated`, probes /health, gets 502 and reports the sandbox as gone (e2b-protocol §3.4).
 */
export class SandboxProxy {
  readonly #agents = new Map<string, http.Agent>();
  readonly #tunnelAgents = new Map<string, TunnelAgent>();
  readonly #open = new Map<string, Set<Duplex | http.ServerResponse>>();

  constructor(private readonly o: SandboxProxyOptions) {}

  /**
   * A signed `downloadUrl()`/`uploadUrl()` fetched as is carries no sandbox id when the SDK uses
   * E2B_SANDBOX_URL (e2b-protocol §3.2.4): find the sandbox whose token the signature is made with.
   */
  matchSignedFiles(req: http.IncomingMessage): ProxyTarget | undefined {
    return signedFilesTarget(req.method, req.url, this.o.signedCandidates);
  }

  handle(req: http.IncomingMessage, res: http.ServerResponse, target: ProxyTarget | 'invalid'): void {
    const route = target === 'invalid' ? undefined : this.o.route(target.sandboxId);
    if (target === 'invalid' || !route) {
      this.#notFound(res, sandboxIdHint(req.headers));
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
    const untrack = this.#track(route.sandboxId, res);
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
      upstreamRes.on('end', () => {
        upstreamComplete = true;
      });
      res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.statusMessage, forwardHeaders(upstreamRes.headers));
      upstreamRes.pipe(res);
      upstreamRes.on('error', () => res.destroy());
      upstreamRes.on('aborted', () => res.destroy());
    });
    upstream.on('error', (err) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      this.o.logger.debug('proxy upstream error', { sandboxId: route.sandboxId, port: target.port, err });
      this.#send(res, 502, {
        message:
          err instanceof PortClosedError
            ? `The sandbox is running but port ${target.port} is not open`
            : `The sandbox is running but port ${target.port} is not reachable`,
        sandboxId: route.sandboxId,
        port: target.port,
        code: 502,
      });
    });
    req.pipe(upstream);
    req.on('error', () => upstream.destroy());
  }

  /** WebSocket and other upgrades to a sandbox port: a raw byte tunnel after the request head. */
  handleUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer, target: ProxyTarget | 'invalid'): void {
    const route = target === 'invalid' ? undefined : this.o.route(target.sandboxId);
    if (target === 'invalid' || !route) {
      const body = JSON.stringify({
        message: 'The sandbox was not found',
        sandboxId: sandboxIdHint(req.headers),
        code: 502,
      });
      socket.end(
        `HTTP/1.1 502 Bad Gateway\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
      );
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
    const failed = () => {
      untrackA();
      socket.end('HTTP/1.1 502 Bad Gateway\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
    };
    if (target.port === route.envdPort) {
      const upstream = net.connect(target.port, route.address);
      upstream.once('connect', () => connected(upstream));
      upstream.once('error', failed);
    } else {
      dialSandboxPort(route.address, route.envdPort, target.port, (err, upstream) => {
        if (err || !upstream) failed();
        else connected(upstream);
      });
    }
  }

  /** The sandbox stopped serving: drop every open exchange and its connection pool. */
  dropSandbox(sandboxId: string): void {
    for (const stream of this.#open.get(sandboxId) ?? []) stream.destroy();
    this.#open.delete(sandboxId);
    this.#agents.get(sandboxId)?.destroy();
    this.#agents.delete(sandboxId);
    this.#tunnelAgents.get(sandboxId)?.destroy();
    this.#tunnelAgents.delete(sandboxId);
  }

  close(): void {
    for (const agent of [...this.#agents.values(), ...this.#tunnelAgents.values()]) agent.destroy();
    this.#agents.clear();
    this.#tunnelAgents.clear();
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

  #track(sandboxId: string, stream: Duplex | http.ServerResponse): () => void {
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

  #notFound(res: http.ServerResponse, sandboxId: string): void {
    // E2B's proxy body; the SDK's host test checks `sandboxId` in it (e2b-protocol §4.5).
    this.#send(res, 502, { message: 'The sandbox was not found', sandboxId, code: 502 });
  }

  #send(res: http.ServerResponse, status: number, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }
}
