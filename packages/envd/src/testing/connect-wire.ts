/**
 * The Connect protocol's streaming framing, written out by hand so tests can check exactly what
 * envd puts on the wire (below any client library): 1 flag byte, a 4-byte big-endian length,
 * then JSON; flag 2 marks the end-of-stream message, which carries the error if there is one.
 */
export interface Envelope {
  flags: number;
  json: Record<string, unknown>;
}

export const END_STREAM = 2;

export function envelope(message: unknown): Buffer {
  const body = Buffer.from(JSON.stringify(message));
  const header = Buffer.alloc(5);
  header.writeUInt32BE(body.length, 1);
  return Buffer.concat([header, body]);
}

export function parseEnvelopes(data: Buffer): Envelope[] {
  const out: Envelope[] = [];
  for (let at = 0; at < data.length; ) {
    const flags = data.readUInt8(at);
    const length = data.readUInt32BE(at + 1);
    out.push({ flags, json: JSON.parse(data.subarray(at + 5, at + 5 + length).toString('utf8')) });
    at += 5 + length;
  }
  return out;
}

/** The kind of each message: the process event's case (`start`, `data`, `end`, …) or `eos`. */
export function eventKinds(messages: Envelope[]): string[] {
  return messages.map((m) =>
    m.flags === END_STREAM ? 'eos' : (Object.keys((m.json.event as object) ?? {})[0] ?? '?'),
  );
}

/** POSTs one request message to a server-streaming RPC and returns every envelope of the answer. */
export async function callStream(
  url: string,
  message: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; messages: Envelope[] }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/connect+json', 'connect-protocol-version': '1', ...headers },
    body: envelope(message),
  });
  return { status: res.status, messages: parseEnvelopes(Buffer.from(await res.arrayBuffer())) };
}
