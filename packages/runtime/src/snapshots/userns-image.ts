import fs from 'node:fs/promises';
import path from 'node:path';

/**
 * CRIU re-creates the sandbox's user namespace at restore with the uid/gid maps of its
 * `userns-<id>.img` (runc passes it no namespace of its own), so a checkpoint restored into a
 * different slot needs that one small image rewritten: same extents, the new slot's host base.
 * Everything else CRIU keeps is relative to the namespace (task creds, the /dev tmpfs tarballs).
 *
 * The image: 8 bytes of magic, then one entry (u32 little-endian length + a protobuf UsernsEntry:
 * repeated uid_map = 1, repeated gid_map = 2, each a UidGidExtent {first = 1, lower_first = 2,
 * count = 3}, all varints). Anything else in it is refused rather than guessed at.
 */
export interface IdExtent {
  first: number;
  lowerFirst: number;
  count: number;
}

export interface UsernsMaps {
  uidMap: IdExtent[];
  gidMap: IdExtent[];
}

const headerBytes = 8;

/** The userns image in a CRIU images dir (there is exactly one for a runc container). */
export async function usernsImageName(imagesDir: string): Promise<string> {
  const names = (await fs.readdir(imagesDir)).filter((n) => /^userns-\d+\.img$/.test(n));
  if (names.length !== 1) throw new Error(`expected one userns image in ${imagesDir}, found ${names.length}`);
  return names[0] as string;
}

export function decodeUsernsImage(image: Buffer): { header: Buffer; maps: UsernsMaps } {
  if (image.length < headerBytes + 4) throw new Error('userns image too short');
  const size = image.readUInt32LE(headerBytes);
  const body = image.subarray(headerBytes + 4);
  if (body.length !== size) throw new Error('userns image holds more than one entry');
  const maps: UsernsMaps = { uidMap: [], gidMap: [] };
  for (const { field, value } of fields(body)) {
    if (!Buffer.isBuffer(value) || (field !== 1 && field !== 2)) throw new Error(`unexpected userns field ${field}`);
    const extent: Partial<IdExtent> = {};
    for (const f of fields(value)) {
      if (typeof f.value !== 'number') throw new Error('unexpected extent field');
      if (f.field === 1) extent.first = f.value;
      else if (f.field === 2) extent.lowerFirst = f.value;
      else if (f.field === 3) extent.count = f.value;
    }
    if (extent.first === undefined || extent.lowerFirst === undefined || extent.count === undefined) {
      throw new Error('incomplete userns extent');
    }
    (field === 1 ? maps.uidMap : maps.gidMap).push(extent as IdExtent);
  }
  return { header: image.subarray(0, headerBytes), maps };
}

export function encodeUsernsImage(header: Buffer, maps: UsernsMaps): Buffer {
  const extent = (e: IdExtent) =>
    Buffer.concat([key(1, 0), varint(e.first), key(2, 0), varint(e.lowerFirst), key(3, 0), varint(e.count)]);
  const parts: Buffer[] = [];
  for (const [field, list] of [
    [1, maps.uidMap],
    [2, maps.gidMap],
  ] as const) {
    for (const e of list) {
      const inner = extent(e);
      parts.push(key(field, 2), varint(inner.length), inner);
    }
  }
  const body = Buffer.concat(parts);
  const size = Buffer.alloc(4);
  size.writeUInt32LE(body.length);
  return Buffer.concat([header, size, body]);
}

/**
 * Writes `<dest>/<name>` from the snapshot's userns image with every extent's host side moved
 * from `fromBase` to `toBase`; an extent that does not start at `fromBase` is refused.
 */
export async function writeShiftedUsernsImage(
  srcDir: string,
  destDir: string,
  fromBase: number,
  toBase: number,
): Promise<void> {
  const name = await usernsImageName(srcDir);
  const { header, maps } = decodeUsernsImage(await fs.readFile(path.join(srcDir, name)));
  const shift = (list: IdExtent[]) =>
    list.map((e) => {
      if (e.lowerFirst < fromBase)
        throw new Error(`userns extent at ${e.lowerFirst} is below the snapshot's ${fromBase}`);
      return { ...e, lowerFirst: e.lowerFirst - fromBase + toBase };
    });
  const shifted = { uidMap: shift(maps.uidMap), gidMap: shift(maps.gidMap) };
  await fs.writeFile(path.join(destDir, name), encodeUsernsImage(header, shifted), { mode: 0o644 });
}

function* fields(buf: Buffer): Generator<{ field: number; value: number | Buffer }> {
  let pos = 0;
  const read = () => {
    let result = 0;
    let mul = 1;
    for (;;) {
      if (pos >= buf.length) throw new Error('truncated varint');
      const byte = buf[pos++] as number;
      result += (byte & 0x7f) * mul;
      if ((byte & 0x80) === 0) return result;
      mul *= 128;
    }
  };
  while (pos < buf.length) {
    const tag = read();
    const wire = tag & 7;
    const field = tag >>> 3;
    if (wire === 0) yield { field, value: read() };
    else if (wire === 2) {
      const len = read();
      const value = buf.subarray(pos, pos + len);
      if (value.length !== len) throw new Error('truncated field');
      pos += len;
      yield { field, value };
    } else throw new Error(`unexpected wire type ${wire}`);
  }
}

function key(field: number, wire: number): Buffer {
  return varint(field * 8 + wire);
}

function varint(n: number): Buffer {
  const out: number[] = [];
  let v = n;
  while (v >= 128) {
    out.push((v % 128) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return Buffer.from(out);
}
