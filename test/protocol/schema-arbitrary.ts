// Builds fast-check arbitraries for any generated message at any version, from the compact
// field schema that the generator emits beside the codecs.
import fc from "fast-check";
import type { FieldSchema, MessageSchema, VersionRange } from "../../src/protocol/codec-support.js";

export const inRange = (range: VersionRange | undefined, v: number): boolean =>
  range !== undefined && range[0] <= v && v <= range[1];

export function isPresent(field: FieldSchema, version: number, flexible: boolean): boolean {
  if (field.tag !== undefined) return flexible && inRange(field.taggedVersions, version);
  return inRange(field.versions, version);
}

const int = (min: number, max: number) => fc.integer({ min, max });

const stringArb = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.string({ unit: "grapheme", maxLength: 8 }),
  fc.constantFrom("", "é", "日本語", "🚀 emoji", "a".repeat(300)),
);

function primitive(type: string): fc.Arbitrary<unknown> {
  switch (type) {
    case "bool":
      return fc.boolean();
    case "int8":
      return int(-128, 127);
    case "int16":
      return int(-32768, 32767);
    case "uint16":
      return int(0, 65535);
    case "int32":
      return int(-2147483648, 2147483647);
    case "uint32":
      return int(0, 4294967295);
    case "int64":
      return fc.oneof(fc.maxSafeInteger(), fc.constantFrom(-1, 0, 2 ** 40, -(2 ** 53) + 1));
    case "float64":
      return fc.double({ noNaN: true });
    case "string":
      return stringArb;
    case "uuid":
      return fc.uuid({ version: 4 });
    case "bytes":
    case "records":
      return fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a));
    default:
      throw new Error(`no arbitrary for ${type}`);
  }
}

function fieldArb(field: FieldSchema, version: number, flexible: boolean): fc.Arbitrary<unknown> {
  const isArray = field.type.startsWith("[]");
  const element = isArray ? field.type.slice(2) : field.type;
  const one = element === "struct" ? structArb(field.fields ?? [], version, flexible) : primitive(element);
  let arb: fc.Arbitrary<unknown> = isArray ? fc.array(one, { maxLength: 3 }) : one;
  if (inRange(field.nullable, version) || element === "records") arb = fc.option(arb, { nil: null });
  // Tagged structs may be absent altogether.
  if (field.tag !== undefined && element === "struct" && !isArray) arb = fc.option(arb, { nil: undefined });
  return arb;
}

/** Unknown tagged fields use tags far above the known ones so that they never collide. */
const unknownTags = fc
  .uniqueArray(int(1000, 1010), { maxLength: 2 })
  .chain((tags) =>
    fc.tuple(
      ...tags
        .sort((a, b) => a - b)
        .map((tag) => fc.uint8Array({ maxLength: 6 }).map((d) => ({ tag, data: Buffer.from(d) }))),
    ),
  );

export function structArb(
  fields: readonly FieldSchema[],
  version: number,
  flexible: boolean,
): fc.Arbitrary<Record<string, unknown>> {
  const record: Record<string, fc.Arbitrary<unknown>> = {};
  for (const field of fields)
    if (isPresent(field, version, flexible)) record[field.name] = fieldArb(field, version, flexible);
  let arb = fc.record(record);
  if (flexible) {
    arb = fc.tuple(arb, fc.option(unknownTags, { nil: undefined })).map(([value, unknown]) => {
      if (unknown && unknown.length > 0) return { ...value, unknownTaggedFields: unknown };
      return value;
    });
  }
  // Drop undefined tagged structs so that the object matches what the decoder produces.
  return arb.map((value) => Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)));
}

export function messageArb(schema: MessageSchema, version: number) {
  return structArb(schema.fields, version, version >= schema.flexibleMinVersion);
}

/** Projects a decoded value onto the fields that exist at `version`, recursively. */
export function project(fields: readonly FieldSchema[], version: number, flexible: boolean, value: unknown): unknown {
  if (value === null || value === undefined) return value;
  const source = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const field of fields) {
    if (!isPresent(field, version, flexible) || source[field.name] === undefined) continue;
    const v = source[field.name];
    if (field.type === "struct") out[field.name] = project(field.fields ?? [], version, flexible, v);
    else if (field.type === "[]struct" && Array.isArray(v))
      out[field.name] = v.map((e) => project(field.fields ?? [], version, flexible, e));
    else out[field.name] = v;
  }
  if (source.unknownTaggedFields !== undefined) out.unknownTaggedFields = source.unknownTaggedFields;
  return out;
}
