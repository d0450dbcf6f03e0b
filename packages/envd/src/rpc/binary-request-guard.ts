/**
 * connect-es answers a request body that is not valid protobuf binary with `internal` (HTTP 500
 * for a unary call): its binary parser wraps every decode error with that code, while a JSON body
 * that does not parse is `invalid_argument`. A malformed request is the client's fault, so binary
 * requests of the Connect protocol that arrive whole — unary and server-streaming calls — are
 * decoded here first: one that does not decode is answered `invalid_argument` on the Connect wire;
 * one that does is handed on to connect-es unchanged. Compressed bodies and client streams
 * (StreamInput) are left to connect-es.
 */
import type http from 'node:http';
import { type DescMethod, fromBinary } from '@bufbuild/protobuf';
import { ACCESS_TOKEN_HEADER, Filesystem, Process } from '@sandboxd/protocol';
import { checkAccessToken } from '../auth/access-token.js';

/** Larger than any envd request a client sends whole (paths, a command line, env vars). */
const maxGuardedBytes = 4 * 1024 * 1024;

const methodsByPath = new Map<string, DescMethod>(
  [Process, Filesystem].flatMap((service) =>
    service.methods.map((m) => [`/${service.typeName}/${m.name}`, m] as [string, DescMethod]),
  ),
);

class MalformedRequest extends Error {}

function decodeEnvelopes(method: DescMethod, body: Buffer): void {
  let at = 0;
  do {
    if (body.length - at < 5) throw new MalformedRequest('truncated envelope header');
    const flags = body.readUInt8(at);
    const length = body.readUInt32BE(at + 1);
    if (flags !== 0) throw new MalformedRequest(`unexpected envelope flags ${flags}`);
    if (body.length - at - 5 < length) throw new MalformedRequest('truncated envelope');
    fromBinary(method.input, body.subarray(at + 5, at + 5 + length));
    at += 5 + length;
  } while (at < body.length);
}

function refuse(
  res: http.ServerResponse,
  streamed: boolean,
  message: string,
  code: 'invalid_argument' | 'unauthenticated' = 'invalid_argument',
): void {
  const error = { code, message };
  if (!streamed) {
    res
      .writeHead(code === 'unauthenticated' ? 401 : 400, { 'content-type': 'application/json' })
      .end(JSON.stringify(error));
    return;
  }
  // A stream's error travels in its end-of-stream envelope (flag 2), under HTTP 200.
  const json = Buffer.from(JSON.stringify({ error }));
  const header = Buffer.alloc(5);
  header.writeUInt8(2, 0);
  header.writeUInt32BE(json.length, 1);
  res.writeHead(200, { 'content-type': 'application/connect+proto' }).end(Buffer.concat([header, json]));
}

/**
 * Resolves true when it answered the request (a malformed body), false when connect-es should
 * serve it; then `req` reads back what was already read here.
 */
export async function guardBinaryRequest(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  pathname: string,
  accessToken: string | undefined,
): Promise<boolean> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  const streamed = type === 'application/connect+proto';
  if (type !== 'application/proto' && !streamed) return false;
  const method = methodsByPath.get(pathname);
  if (!method || method.methodKind === 'client_streaming' || method.methodKind === 'bidi_streaming') return false;
  if (method.methodKind === 'unary' && streamed) return false; // connect-es refuses the mismatch itself
  if (req.headers['content-encoding'] || req.headers['connect-content-encoding']) return false;
  // Who may not call envd learns nothing about the body: the same refusal the interceptor gives.
  const token = checkAccessToken(req.headers[ACCESS_TOKEN_HEADER], accessToken);
  if (token === 'missing' || token === 'invalid') {
    refuse(res, streamed, 'unauthorized access, please retry with a valid access token', 'unauthenticated');
    return true;
  }

  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxGuardedBytes) {
      refuse(res, streamed, `request body exceeds ${maxGuardedBytes} bytes`);
      return true;
    }
    chunks.push(chunk);
  }
  const body = Buffer.concat(chunks);
  try {
    if (streamed) decodeEnvelopes(method, body);
    else fromBinary(method.input, body);
  } catch (err) {
    refuse(res, streamed, `request is not a valid ${method.input.typeName}: ${(err as Error).message}`);
    return true;
  }
  // connect-es reads the body by async iteration: give it back what was consumed.
  Object.defineProperty(req, Symbol.asyncIterator, {
    value: async function* replay() {
      yield body;
    },
  });
  return false;
}
