import type http from 'node:http';

/**
 * Cross-origin access for browser apps (`--cors-origins` / `SANDBOXD_CORS_ORIGINS`), on the one
 * port: the REST API and the sandbox proxy alike. Off by default: no CORS headers, so browsers
 * refuse cross-origin calls. Origins are listed exactly (`scheme://host[:port]`), or `*` for any.
 */

/** The parsed setting: `[]` is off, `['*']` any origin, else the exact origins allowed. */
export type CorsOrigins = readonly string[];

/** Methods the REST API and envd (Connect, file transfers) are called with. */
export const corsAllowMethods = 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS';

/**
 * What a preflight allows when it names no headers. A preflight that names some gets them echoed:
 * e2b sends per-call ones (`X-Metadata-<key>` on file writes) that no fixed list can hold.
 */
export const corsDefaultAllowHeaders = [
  'Authorization',
  'Content-Type',
  'Content-Encoding',
  'Accept-Encoding',
  'X-API-KEY',
  'X-Access-Token',
  'E2b-Sandbox-Id',
  'E2b-Sandbox-Port',
  'Connect-Protocol-Version',
  'Connect-Timeout-Ms',
  'Keepalive-Ping-Interval',
  'Last-Event-ID',
  'Idempotency-Key',
].join(', ');

/** How long a browser may cache a preflight's answer (Chromium caps it at 2 hours). */
export const corsMaxAgeSeconds = 600;

/** Parses the setting's text (comma list, or `*`); every bad entry is a problem for the config. */
export function parseCorsOrigins(
  text: string | undefined,
  source: string,
): { origins: CorsOrigins; problems: string[] } {
  const entries = (text ?? '')
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean);
  const problems: string[] = [];
  if (entries.includes('*')) {
    if (entries.length > 1) problems.push(`${source}: '*' allows every origin and cannot be combined with others`);
    return { origins: ['*'], problems };
  }
  for (const entry of entries) {
    const problem = originProblem(entry);
    if (problem) problems.push(`${source}: '${entry}' ${problem}`);
  }
  return { origins: problems.length ? [] : [...new Set(entries)], problems };
}

/** Why `entry` is not an origin as browsers send it in `Origin`, or undefined when it is one. */
function originProblem(entry: string): string | undefined {
  let url: URL;
  try {
    url = new URL(entry);
  } catch {
    return 'is not an origin (write scheme://host[:port], e.g. http://localhost:5173)';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'is not an http(s) origin';
  // An origin has no path, query, credentials or trailing slash; browsers send it normalised.
  if (url.origin !== entry) return `is not an origin as browsers send it (write ${url.origin})`;
  return undefined;
}

/**
 * Answers a preflight from an allowed origin (true: the response is sent, nothing else runs),
 * and otherwise puts the CORS headers on the response the API or the proxy is about to write.
 */
export type CorsHandler = (req: http.IncomingMessage, res: http.ServerResponse) => boolean;

/** The handler for `origins`, or undefined when CORS is off. */
export function createCors(origins: CorsOrigins): CorsHandler | undefined {
  if (origins.length === 0) return undefined;
  const any = origins[0] === '*';
  const allowed = new Set(origins);
  return (req, res) => {
    // With a list, the answer depends on Origin: caches must keep one per origin.
    if (!any) res.setHeader('Vary', 'Origin');
    const origin = req.headers.origin;
    if (origin === undefined || !(any || allowed.has(origin))) return false;
    const allowOrigin = any ? '*' : origin;
    const requestedMethod = req.headers['access-control-request-method'];
    if (req.method === 'OPTIONS' && requestedMethod !== undefined) {
      // A preflight carries no API key and must not reach auth, rate limits or a sandbox.
      const requestedHeaders = req.headers['access-control-request-headers'];
      const headers: http.OutgoingHttpHeaders = {
        'Access-Control-Allow-Origin': allowOrigin,
        'Access-Control-Allow-Methods': corsAllowMethods,
        'Access-Control-Allow-Headers': requestedHeaders?.trim() ? requestedHeaders : corsDefaultAllowHeaders,
        'Access-Control-Max-Age': String(corsMaxAgeSeconds),
        Vary: 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers',
        'Content-Length': '0',
      };
      // Chromium asks before a public page may call a loopback or private address.
      if (req.headers['access-control-request-private-network'] === 'true') {
        headers['Access-Control-Allow-Private-Network'] = 'true';
      }
      res.writeHead(204, headers);
      res.end();
      return true;
    }
    // Set before the API or the proxy writes its head, so errors and streams carry them too. A
    // sandbox app that sends its own Access-Control-* headers overrides these (its head wins).
    res.setHeader('Access-Control-Allow-Origin', allowOrigin);
    // No credentials are ever allowed (the key is a header), so `*` exposes every header:
    // Retry-After, X-E2B-Trace-ID, Connect's and envd's own.
    res.setHeader('Access-Control-Expose-Headers', '*');
    return false;
  };
}
