import type { IncomingHttpHeaders } from 'node:http';
import { isSandboxId } from '@sandboxd/common';
import { ENVD_PORT, SANDBOX_ID_HEADER, SANDBOX_PORT_HEADER } from '@sandboxd/protocol';

export interface ProxyTarget {
  sandboxId: string;
  port: number;
}

const hostPattern = /^(\d{1,5})-([a-z0-9]+)\./;

function validPort(value: number): boolean {
  return Number.isInteger(value) && value >= 1 && value <= 65535;
}

/**
 * Is this request for a sandbox? Either the SDK's shared-URL headers (`E2b-Sandbox-Id`,
 * `E2b-Sandbox-Port`) or a per-sandbox host `<port>-<sandboxId>.<domain>` (what `getHost(port)` returns).
 * Returns `invalid` for a sandbox request we can never route (so it gets a 502, not the API).
 */
export function matchSandboxRequest(headers: IncomingHttpHeaders): ProxyTarget | 'invalid' | undefined {
  const idHeader = headers[SANDBOX_ID_HEADER];
  if (typeof idHeader === 'string') {
    const portHeader = headers[SANDBOX_PORT_HEADER];
    const port = typeof portHeader === 'string' ? Number(portHeader) : ENVD_PORT;
    if (!isSandboxId(idHeader) || !validPort(port)) return 'invalid';
    return { sandboxId: idHeader, port };
  }
  const host = headers.host;
  if (!host) return undefined;
  const m = hostPattern.exec(host.toLowerCase());
  if (!m) return undefined;
  const port = Number(m[1]);
  const sandboxId = m[2] ?? '';
  if (!isSandboxId(sandboxId) || !validPort(port)) return 'invalid';
  return { sandboxId, port };
}

export function sandboxIdHint(headers: IncomingHttpHeaders): string {
  const idHeader = headers[SANDBOX_ID_HEADER];
  if (typeof idHeader === 'string') return idHeader.slice(0, 64);
  const m = /^\d{1,5}-([^.]+)\./.exec(headers.host ?? '');
  return (m?.[1] ?? '').slice(0, 64);
}
