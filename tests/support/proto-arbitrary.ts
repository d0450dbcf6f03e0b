import { type DescField, type DescMessage, ScalarType } from '@bufbuild/protobuf';
import fc from 'fast-check';

/**
 * fast-check arbitraries of protobuf messages in their JSON form, built from the generated
 * descriptors: every field may be absent or carry a value of its type — strings with paths,
 * control characters and odd Unicode, integers at their edges, bytes, unknown enum numbers —
 * and at most one member of each oneof is set. Messages nest up to `depth` levels.
 */

const edgeInts = [0, -1, 1, 2 ** 31 - 1, -(2 ** 31), 2 ** 32 - 1];
const pathLike = fc.oneof(
  fc.constantFrom('/', '.', '..', '/tmp', '/proc/self/root', '/dev/zero', '/home/user/../../etc/passwd', '', '~'),
  fc.array(fc.constantFrom('a', '..', '.', ' ', '\0', 'é', '%2e', '/'), { maxLength: 8 }).map((p) => `/${p.join('/')}`),
);
const anyString = fc.oneof(fc.string({ maxLength: 40 }), fc.string({ unit: 'binary', maxLength: 20 }), pathLike);

function scalar(type: ScalarType): fc.Arbitrary<unknown> {
  switch (type) {
    case ScalarType.STRING:
      return anyString;
    case ScalarType.BOOL:
      return fc.boolean();
    case ScalarType.BYTES:
      return fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b).toString('base64'));
    case ScalarType.DOUBLE:
    case ScalarType.FLOAT:
      return fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.constantFrom('NaN', 'Infinity'));
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
      return fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map(String);
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map(String);
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return fc.oneof(fc.constantFrom(0, 1, 2 ** 32 - 1), fc.nat());
    default:
      return fc.oneof(fc.constantFrom(...edgeInts), fc.integer());
  }
}

function singular(field: DescField, depth: number): fc.Arbitrary<unknown> {
  switch (field.fieldKind) {
    case 'scalar':
      return scalar(field.scalar);
    case 'enum':
      return fc.oneof(fc.constantFrom(...field.enum.values.map((v) => v.name)), fc.integer({ min: -5, max: 99 }));
    case 'message':
      return depth > 0 ? messageJson(field.message, depth - 1) : fc.constant({});
    case 'list': {
      const item =
        field.listKind === 'scalar'
          ? scalar(field.scalar)
          : field.listKind === 'enum'
            ? fc.constantFrom(...field.enum.values.map((v) => v.name))
            : depth > 0
              ? messageJson(field.message, depth - 1)
              : fc.constant({});
      return fc.array(item, { maxLength: 4 });
    }
    case 'map': {
      const value =
        field.mapKind === 'scalar'
          ? scalar(field.scalar)
          : field.mapKind === 'enum'
            ? fc.constantFrom(...field.enum.values.map((v) => v.name))
            : depth > 0
              ? messageJson(field.message, depth - 1)
              : fc.constant({});
      return fc.dictionary(fc.string({ maxLength: 12 }), value, { maxKeys: 4 });
    }
  }
}

/** A message's JSON form with any subset of its fields set (one per oneof). */
export function messageJson(desc: DescMessage, depth = 2): fc.Arbitrary<Record<string, unknown>> {
  const plain = desc.fields.filter((f) => !f.oneof);
  const record: Record<string, fc.Arbitrary<unknown>> = {};
  for (const f of plain) record[f.jsonName] = singular(f, depth);
  const base = fc.record(record, { requiredKeys: [] });
  const oneofs = desc.oneofs.map((o) =>
    fc.option(fc.oneof(...o.fields.map((f) => singular(f, depth).map((v) => ({ [f.jsonName]: v })))), {
      nil: undefined,
    }),
  );
  return fc
    .tuple(base, ...oneofs)
    .map(([fields, ...chosen]) => Object.assign({}, fields, ...chosen.filter(Boolean)) as Record<string, unknown>);
}
