// Generates brook's Kafka message codecs from Apache Kafka's JSON message definitions.
//
//   node scripts/generate-protocol.mjs [SPEC_DIR]          writes src/protocol/generated/
//   node scripts/generate-protocol.mjs --check [SPEC_DIR]  exits 1 if the committed output is stale
//
// SPEC_DIR defaults to ../shared/kafka-protocol (beside the project). The output holds no copy of
// the JSON files or their prose: only typed interfaces, encode/decode functions and a compact
// field schema (names, types, version ranges) that the tests use to generate values.
// Versions are capped at the ranges brook implements (API_RANGES below); fields that only
// exist outside those ranges are left out entirely.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const checkOnly = args.includes("--check");
const specRoot = resolve(args.find((a) => !a.startsWith("--")) ?? join(projectRoot, "..", "shared", "kafka-protocol"));
const outDir = join(projectRoot, "src", "protocol", "generated");

/** The APIs brook implements, with the version range it supports (capped below the spec's max). */
const API_RANGES = [
  ["Produce", 0, 9],
  ["Fetch", 0, 12],
  ["ListOffsets", 0, 7],
  ["Metadata", 0, 12],
  ["OffsetCommit", 0, 8],
  ["OffsetFetch", 0, 8],
  ["FindCoordinator", 0, 4],
  ["JoinGroup", 0, 9],
  ["Heartbeat", 0, 4],
  ["LeaveGroup", 0, 5],
  ["SyncGroup", 0, 5],
  ["DescribeGroups", 0, 5],
  ["ListGroups", 0, 5],
  ["SaslHandshake", 0, 1],
  ["ApiVersions", 0, 3],
  ["CreateTopics", 0, 7],
  ["DeleteTopics", 0, 6],
  ["DeleteRecords", 0, 2],
  ["InitProducerId", 0, 4],
  ["OffsetForLeaderEpoch", 0, 4],
  ["DescribeConfigs", 0, 4],
  ["AlterConfigs", 0, 2],
  ["DescribeLogDirs", 0, 4],
  ["SaslAuthenticate", 0, 2],
  ["CreatePartitions", 0, 3],
  ["DeleteGroups", 0, 2],
  ["IncrementalAlterConfigs", 0, 1],
  ["OffsetDelete", 0, 0],
  ["DescribeCluster", 0, 1],
];

/** Standalone structures: headers and the consumer protocol payloads. */
const DATA_RANGES = [
  ["RequestHeader", 1, 2],
  ["ResponseHeader", 0, 1],
  ["ConsumerProtocolSubscription", 0, 3],
  ["ConsumerProtocolAssignment", 0, 3],
];

// ---------------------------------------------------------------------------------------------
// Reading the specs

function readSpec(name) {
  const text = readFileSync(join(specRoot, "messages", `${name}.json`), "utf8");
  // The files carry // comments, which JSON.parse does not accept.
  const json = text
    .split("\n")
    .filter((line) => !/^\s*\/\//.test(line))
    .join("\n");
  return JSON.parse(json);
}

/** "3+" → [3, Infinity]; "1-4" → [1, 4]; "5" → [5, 5]; "none" / undefined → null. */
function parseRange(text) {
  if (text === undefined || text === "none" || text === "") return null;
  if (text.endsWith("+")) return [Number(text.slice(0, -1)), Number.POSITIVE_INFINITY];
  const [lo, hi] = text.split("-").map(Number);
  return [lo, hi ?? lo];
}

/** Intersects a range with [min, max]; null when empty. */
function clip(range, min, max) {
  if (!range) return null;
  const lo = Math.max(range[0], min);
  const hi = Math.min(range[1], max);
  return lo <= hi ? [lo, hi] : null;
}

const camel = (name) => name.charAt(0).toLowerCase() + name.slice(1);

const PRIMITIVES = new Set([
  "bool",
  "int8",
  "int16",
  "uint16",
  "int32",
  "uint32",
  "int64",
  "float64",
  "string",
  "bytes",
  "records",
  "uuid",
]);

// ---------------------------------------------------------------------------------------------
// The model: messages → structs → fields, restricted to the supported version range

/**
 * Builds the field model of a struct for versions [min, max]. Returns the list of fields and
 * registers nested structs in `structs` (name → fields), prefixed by the message name so that
 * names never clash across messages.
 */
function buildStruct(prefix, fields, min, max, structs, commonStructs, flexRange) {
  if (min > max) return [];
  const out = [];
  for (const field of fields) {
    const versions = clip(parseRange(field.versions), min, max);
    const taggedVersions = clip(parseRange(field.taggedVersions), min, max);
    if (!versions) continue;
    let type = field.type;
    const isArray = type.startsWith("[]");
    const elementType = isArray ? type.slice(2) : type;
    let structName = null;
    if (!PRIMITIVES.has(elementType)) {
      // Prefix nested struct names with the message name, unless they already carry the API's name.
      const apiBase = prefix.replace(/(Request|Response)$/, "");
      structName = elementType.startsWith(apiBase) ? elementType : prefix + elementType;
      const subFields = field.fields ?? commonStructs.get(elementType);
      if (!subFields) throw new Error(`no definition for struct ${elementType} in ${prefix}`);
      if (!structs.has(structName)) {
        // An inline struct exists only where its field does; a common struct may be used by
        // fields of different ranges, so it keeps the message's whole range.
        const [lo, hi] = field.fields ? versions : [min, max];
        structs.set(structName, null); // reserved while its own fields are built
        const built = buildStruct(prefix, subFields, lo, hi, structs, commonStructs, flexRange);
        structs.set(structName, { fields: built, min: lo, max: hi });
      }
      type = isArray ? `[]${structName}` : structName;
    }
    const fieldFlex = field.flexibleVersions !== undefined ? parseRange(field.flexibleVersions) : flexRange;
    out.push({
      name: camel(field.name),
      type,
      isArray,
      elementType: structName ?? elementType,
      isStruct: structName !== null,
      versions,
      nullable: clip(parseRange(field.nullableVersions), min, max),
      tag: taggedVersions ? field.tag : undefined,
      taggedVersions,
      flexible: fieldFlex,
      defaultText: field.default,
    });
  }
  return out;
}

function buildMessage(spec, min, max) {
  const structs = new Map();
  const common = new Map((spec.commonStructs ?? []).map((s) => [s.name, s.fields]));
  const flexRange = parseRange(spec.flexibleVersions);
  const fields = buildStruct(spec.name, spec.fields, min, max, structs, common, flexRange);
  return { name: spec.name, apiKey: spec.apiKey, min, max, flexRange, fields, structs };
}

// ---------------------------------------------------------------------------------------------
// Code emission helpers

/** A JS condition that is true when `v` lies in `range`, given that v is in [min, max]. */
function versionCondition(range, min, max, v = "version") {
  if (!range) return "false";
  const [lo, hi] = range;
  const parts = [];
  if (lo > min) parts.push(`${v} >= ${lo}`);
  if (hi < max) parts.push(`${v} <= ${hi}`);
  return parts.length === 0 ? "true" : parts.join(" && ");
}

/** The TypeScript type of a field: of the decoded form, or (input = true) of the encoder's input. */
function tsType(field, input) {
  const base = (t) => {
    switch (t) {
      case "bool":
        return "boolean";
      case "string":
      case "uuid":
        return "string";
      case "bytes":
        return "Buffer";
      case "records":
        // Record batches may be handed to the encoder as several buffers (zero-copy).
        return input ? "Buffer | readonly Buffer[]" : "Buffer";
      default:
        return PRIMITIVES.has(t) ? "number" : input ? `${t}Input` : t;
    }
  };
  const element = base(field.elementType);
  const t = field.isArray ? `${element}[]` : element;
  return field.nullable || field.elementType === "records" ? `${t} | null` : t;
}

const ZERO_UUID = "00000000-0000-0000-0000-000000000000";

/** The JS expression for a field's default value. */
function defaultValue(field) {
  const d = field.defaultText;
  if (d === "null") return "null";
  if (field.isArray) return "[]";
  if (field.isStruct) return `default${field.elementType}()`;
  switch (field.elementType) {
    case "bool":
      return d === "true" ? "true" : "false";
    case "string":
      return JSON.stringify(d ?? "");
    case "uuid":
      return JSON.stringify(ZERO_UUID);
    case "bytes":
      return "Buffer.alloc(0)";
    case "records":
      return "null";
    default:
      return d === undefined ? "0" : String(Number(d));
  }
}

/** Element-level primitive read and write calls. `compact` selects flexible encodings. */
function primitiveRead(type, nullable, compact) {
  switch (type) {
    case "bool":
      return "r.readBool()";
    case "int8":
      return "r.readInt8()";
    case "int16":
      return "r.readInt16()";
    case "uint16":
      return "r.readUInt16()";
    case "int32":
      return "r.readInt32()";
    case "uint32":
      return "r.readUInt32()";
    case "int64":
      return "r.readInt64()";
    case "float64":
      return "r.readFloat64()";
    case "uuid":
      return "r.readUuid()";
    case "string":
      return `r.read${compact ? "Compact" : ""}${nullable ? "Nullable" : ""}String()`;
    case "bytes":
    case "records":
      return `r.read${compact ? "Compact" : ""}${nullable || type === "records" ? "Nullable" : ""}Bytes()`;
    default:
      throw new Error(`unknown primitive ${type}`);
  }
}

function primitiveWrite(type, nullable, compact, value) {
  switch (type) {
    case "bool":
      return `w.writeBool(${value})`;
    case "int8":
      return `w.writeInt8(${value})`;
    case "int16":
      return `w.writeInt16(${value})`;
    case "uint16":
      return `w.writeUInt16(${value})`;
    case "int32":
      return `w.writeInt32(${value})`;
    case "uint32":
      return `w.writeUInt32(${value})`;
    case "int64":
      return `w.writeInt64(${value})`;
    case "float64":
      return `w.writeFloat64(${value})`;
    case "uuid":
      return `w.writeUuid(${value})`;
    case "string":
      return `w.write${compact ? "Compact" : ""}${nullable ? "Nullable" : ""}String(${value})`;
    case "bytes":
      return `w.write${compact ? "Compact" : ""}${nullable ? "Nullable" : ""}Bytes(${value})`;
    case "records":
      return `w.write${compact ? "Compact" : ""}Records(${value})`;
    default:
      throw new Error(`unknown primitive ${type}`);
  }
}

/** Smallest number of bytes one array element can take, to bound forged array counts. */
function minElementSize(field) {
  if (field.isStruct) return 1;
  switch (field.elementType) {
    case "bool":
    case "int8":
      return 1;
    case "int16":
    case "uint16":
      return 2;
    case "int32":
    case "uint32":
      return 4;
    case "int64":
    case "float64":
      return 8;
    case "uuid":
      return 16;
    default:
      return 1;
  }
}

/**
 * Emits statements that read one field's value into `target`. The encoding is chosen at run
 * time from `compactVar` (a boolean expression: is this version flexible for this field).
 */
function emitRead(field, target, compactExpr, nullableExpr, msg) {
  const lines = [];
  const _structCall = (t) => `decode${t}(r, version)`;
  if (field.isArray) {
    const size = minElementSize(field);
    const element = (compact) =>
      field.isStruct ? `decode${field.elementType}(r, version)` : primitiveRead(field.elementType, false, compact);
    const count = (compact) => (compact ? `r.readCompactArrayLength(${size})` : `r.readArrayLength(${size})`);
    const loop = (compact) => `for (let i = 0; i < n; i++) a[i] = ${element(compact)};`;
    lines.push(`{`);
    if (compactExpr === "true" || compactExpr === "false") {
      lines.push(`  const n = ${count(compactExpr === "true")};`);
    } else {
      lines.push(`  const compact = ${compactExpr};`);
      lines.push(`  const n = compact ? ${count(true)} : ${count(false)};`);
    }
    const nullCheck = nullableExpr === "true" ? null : nullableExpr === "false" ? "true" : `!(${nullableExpr})`;
    if (nullCheck === "true") {
      lines.push(`  if (n < 0) throw nullNotAllowed("${msg}.${field.name}");`);
      lines.push(`  {`);
    } else {
      lines.push(`  if (n < 0) {`);
      if (nullCheck) lines.push(`    if (${nullCheck}) throw nullNotAllowed("${msg}.${field.name}");`);
      lines.push(`    ${target} = null as never;`);
      lines.push(`  } else {`);
    }
    lines.push(`    const a = new Array(n);`);
    if (compactExpr === "true" || compactExpr === "false" || field.isStruct) {
      lines.push(`    ${loop(compactExpr === "true")}`);
    } else {
      lines.push(`    if (compact) ${loop(true)}`);
      lines.push(`    else ${loop(false)}`);
    }
    lines.push(`    ${target} = a;`);
    lines.push(`  }`);
    lines.push(`}`);
    return lines;
  }
  if (field.isStruct) {
    if (field.nullable) {
      // Nullable structs are prefixed by an int8: -1 null, 1 present.
      lines.push(`${target} = r.readInt8() < 0 ? null : decode${field.elementType}(r, version);`);
    } else {
      lines.push(`${target} = decode${field.elementType}(r, version);`);
    }
    return lines;
  }
  const t = field.elementType;
  const hasVariants = t === "string" || t === "bytes" || t === "records";
  if (!hasVariants) {
    lines.push(`${target} = ${primitiveRead(t, false, false)};`);
    return lines;
  }
  const variant = (compact, nullable) => primitiveRead(t, nullable, compact);
  const pick = (compact) => {
    if (nullableExpr === "true" || nullableExpr === "false") return variant(compact, nullableExpr === "true");
    return `(${nullableExpr} ? ${variant(compact, true)} : ${variant(compact, false)})`;
  };
  if (compactExpr === "true" || compactExpr === "false") lines.push(`${target} = ${pick(compactExpr === "true")};`);
  else lines.push(`${target} = ${compactExpr} ? ${pick(true)} : ${pick(false)};`);
  return lines;
}

function emitWrite(field, value, compactExpr, nullableExpr, msg) {
  const lines = [];
  if (field.isArray) {
    const writeElement = (compact) =>
      field.isStruct
        ? `encode${field.elementType}(w, version, x)`
        : primitiveWrite(field.elementType, false, compact, "x");
    const arrayCall = (compact) => {
      const fn = compact ? "writeCompactNullableArray" : "writeNullableArray";
      return `w.${fn}(${value}, (w, x) => ${writeElement(compact)})`;
    };
    if (nullableExpr === "false") lines.push(`if (${value} == null) throw nullNotAllowed("${msg}.${field.name}");`);
    else if (nullableExpr !== "true")
      lines.push(`if (${value} == null && !(${nullableExpr})) throw nullNotAllowed("${msg}.${field.name}");`);
    if (compactExpr === "true" || compactExpr === "false") lines.push(`${arrayCall(compactExpr === "true")};`);
    else lines.push(`if (${compactExpr}) ${arrayCall(true)}; else ${arrayCall(false)};`);
    return lines;
  }
  if (field.isStruct) {
    if (field.nullable) {
      lines.push(`if (${value} == null) w.writeInt8(-1);`);
      lines.push(`else { w.writeInt8(1); encode${field.elementType}(w, version, ${value}); }`);
    } else {
      lines.push(`encode${field.elementType}(w, version, ${value} ?? default${field.elementType}());`);
    }
    return lines;
  }
  const t = field.elementType;
  const hasVariants = t === "string" || t === "bytes" || t === "records";
  if (!hasVariants) {
    lines.push(`${primitiveWrite(t, false, false, value)};`);
    return lines;
  }
  // Nullable variants accept null; for non-nullable versions a null is a caller bug.
  if (nullableExpr !== "true" && t !== "records") {
    const cond = nullableExpr === "false" ? `${value} == null` : `${value} == null && !(${nullableExpr})`;
    lines.push(`if (${cond}) throw nullNotAllowed("${msg}.${field.name}");`);
  }
  const variant = (compact) => primitiveWrite(t, true, compact, value);
  if (compactExpr === "true" || compactExpr === "false") lines.push(`${variant(compactExpr === "true")};`);
  else lines.push(`if (${compactExpr}) ${variant(true)}; else ${variant(false)};`);
  return lines;
}

/** Whether the field is present in every version of [min, max] and is not tagged. */
const alwaysPresent = (field, min, max) =>
  field.tag === undefined && field.versions[0] <= min && field.versions[1] >= max;

function emitStruct(name, fields, min, max, flexRange, out) {
  const flexible = clip(flexRange, min, max);
  const isFlexible = versionCondition(flexible, min, max);
  // The decoded form has every field (absent ones hold defaults) but tagged structs; the
  // encoder's input may leave out whatever is not in every version.
  out.push(`export interface ${name} {`);
  for (const f of fields) {
    const optional = f.tag !== undefined && f.isStruct && !f.isArray ? "?" : "";
    out.push(`  ${f.name}${optional}: ${tsType(f, false)};`);
  }
  if (flexible) out.push(`  unknownTaggedFields?: UnknownTaggedField[];`);
  out.push(`}`);
  out.push(``);
  out.push(`export interface ${name}Input {`);
  for (const f of fields) {
    const optional = alwaysPresent(f, min, max) ? "" : "?";
    out.push(`  ${f.name}${optional}: ${tsType(f, true)};`);
  }
  if (flexible) out.push(`  unknownTaggedFields?: UnknownTaggedField[];`);
  out.push(`}`);
  out.push(``);

  // Default value
  out.push(`export function default${name}(): ${name} {`);
  out.push(`  return {`);
  for (const f of fields) {
    if (f.tag !== undefined && f.isStruct && !f.isArray) continue;
    out.push(`    ${f.name}: ${defaultValue(f)},`);
  }
  out.push(`  };`);
  out.push(`}`);
  out.push(``);

  // Encoder
  const untagged = fields.filter((f) => f.tag === undefined || !f.versions);
  const tagged = fields.filter((f) => f.tag !== undefined).sort((a, b) => a.tag - b.tag);
  out.push(`export function encode${name}(w: Writer, version: number, m: ${name}Input): void {`);
  for (const f of fields) {
    // A tagged field may also be a regular field in the versions before it became tagged.
    const regular = f.tag === undefined ? f.versions : null;
    if (!regular) continue;
    const present = versionCondition(regular, min, max);
    const compact = f.flexible ? versionCondition(clip(f.flexible, min, max), min, max) : "false";
    const nullable = versionCondition(f.nullable, min, max);
    const value = alwaysPresent(f, min, max)
      ? `m.${f.name}`
      : f.nullable
        ? `(m.${f.name} === undefined ? ${defaultValue(f)} : m.${f.name})`
        : `(m.${f.name} ?? ${defaultValue(f)})`;
    const body = emitWrite(f, value, compact, nullable, name);
    if (present === "true") out.push(...body.map((l) => `  ${l}`));
    else if (present !== "false") {
      out.push(`  if (${present}) {`);
      out.push(...body.map((l) => `    ${l}`));
      out.push(`  }`);
    }
  }
  if (flexible) {
    const tagStatements = [];
    for (const f of tagged) {
      const present = versionCondition(f.taggedVersions, min, max);
      const nullable = versionCondition(f.nullable, min, max);
      const isDefault = f.isArray
        ? `m.${f.name} == null || m.${f.name}.length === 0`
        : f.isStruct
          ? `m.${f.name} === undefined`
          : `m.${f.name} === undefined || m.${f.name} === ${defaultValue(f)}`;
      const body = emitWrite(f, `m.${f.name}`, "true", nullable, name);
      tagStatements.push(`if (${present === "true" ? "" : `(${present}) && `}!(${isDefault})) {`);
      tagStatements.push(`  const tw = new Writer(64);`);
      tagStatements.push(`  {`);
      tagStatements.push(`    const w = tw;`);
      tagStatements.push(...body.map((l) => `    ${l}`));
      tagStatements.push(`  }`);
      tagStatements.push(`  (known ??= []).push({ tag: ${f.tag}, data: tw.toBuffer() });`);
      tagStatements.push(`}`);
    }
    const writeTags = (indent) => {
      const pad = " ".repeat(indent);
      if (tagStatements.length === 0) {
        out.push(`${pad}w.writeTaggedFields(undefined, m.unknownTaggedFields);`);
        return;
      }
      out.push(`${pad}let known: UnknownTaggedField[] | undefined;`);
      out.push(...tagStatements.map((l) => `${pad}${l}`));
      out.push(`${pad}w.writeTaggedFields(known, m.unknownTaggedFields);`);
    };
    if (isFlexible === "true") writeTags(2);
    else {
      out.push(`  if (${isFlexible}) {`);
      writeTags(4);
      out.push(`  }`);
    }
  }
  out.push(`}`);
  out.push(``);

  // Decoder
  out.push(`export function decode${name}(r: Reader, version: number): ${name} {`);
  out.push(`  const m = {} as ${name};`);
  for (const f of untagged) {
    const present = versionCondition(f.versions, min, max);
    const compact = f.flexible ? versionCondition(clip(f.flexible, min, max), min, max) : "false";
    const nullable = versionCondition(f.nullable, min, max);
    const body = emitRead(f, `m.${f.name}`, compact, nullable, name);
    if (present === "true") out.push(...body.map((l) => `  ${l}`));
    else {
      out.push(`  if (${present}) {`);
      out.push(...body.map((l) => `    ${l}`));
      out.push(`  } else m.${f.name} = ${defaultValue(f)};`);
    }
  }
  for (const f of tagged) {
    if (!f.isStruct || f.isArray) out.push(`  m.${f.name} = ${defaultValue(f)};`);
  }
  if (flexible) {
    const readTags = (indent) => {
      const pad = " ".repeat(indent);
      if (tagged.length === 0) {
        out.push(`${pad}const unknown = r.readTaggedFields();`);
      } else {
        out.push(`${pad}const unknown = r.readTaggedFields((tag, tr) => {`);
        out.push(`${pad}  const r = tr;`);
        out.push(`${pad}  switch (tag) {`);
        for (const f of tagged) {
          const present = versionCondition(f.taggedVersions, min, max);
          const nullable = versionCondition(f.nullable, min, max);
          out.push(`${pad}    case ${f.tag}:`);
          if (present !== "true") out.push(`${pad}      if (!(${present})) return false;`);
          out.push(...emitRead(f, `m.${f.name}`, "true", nullable, name).map((l) => `${pad}      ${l}`));
          out.push(`${pad}      return true;`);
        }
        out.push(`${pad}    default:`);
        out.push(`${pad}      return false;`);
        out.push(`${pad}  }`);
        out.push(`${pad}});`);
      }
      out.push(`${pad}if (unknown) m.unknownTaggedFields = unknown;`);
    };
    if (isFlexible === "true") readTags(2);
    else {
      out.push(`  if (${isFlexible}) {`);
      readTags(4);
      out.push(`  }`);
    }
  }
  out.push(`  return m;`);
  out.push(`}`);
  out.push(``);
}

/** The compact schema of a struct, as data, for tests and tools. */
function schemaOf(fields, structs) {
  return fields.map((f) => {
    const entry = {
      name: f.name,
      type: f.isArray ? `[]${f.isStruct ? "struct" : f.elementType}` : f.isStruct ? "struct" : f.elementType,
      versions: f.versions,
    };
    if (f.nullable) entry.nullable = f.nullable;
    if (f.tag !== undefined) {
      entry.tag = f.tag;
      entry.taggedVersions = f.taggedVersions;
    }
    if (f.isStruct) entry.fields = schemaOf(structs.get(f.elementType).fields, structs);
    return entry;
  });
}

const rangeJs = (r) => (r ? `[${r[0]}, ${r[1] === Number.POSITIVE_INFINITY ? "Infinity" : r[1]}]` : "null");

function schemaJs(schema, indent) {
  const pad = " ".repeat(indent);
  const lines = ["["];
  for (const f of schema) {
    const parts = [
      `name: ${JSON.stringify(f.name)}`,
      `type: ${JSON.stringify(f.type)}`,
      `versions: ${rangeJs(f.versions)}`,
    ];
    if (f.nullable) parts.push(`nullable: ${rangeJs(f.nullable)}`);
    if (f.tag !== undefined) parts.push(`tag: ${f.tag}`, `taggedVersions: ${rangeJs(f.taggedVersions)}`);
    if (f.fields) parts.push(`fields: ${schemaJs(f.fields, indent + 2)}`);
    lines.push(`${pad}  { ${parts.join(", ")} },`);
  }
  lines.push(`${pad}]`);
  return lines.join("\n");
}

const HEADER = `// Generated by scripts/generate-protocol.mjs from Apache Kafka's message definitions. Do not edit.\n`;

function emitMessageFile(messages, extraImports = "") {
  const names = messages.flatMap((m) => [m.name, ...m.structs.keys()]);
  const clash = names.find((n, i) => names.indexOf(n) !== i);
  if (clash) throw new Error(`two structs named ${clash} in one file`);
  const out = [HEADER, `import { Reader, type UnknownTaggedField } from "../reader.js";`];
  out.push(`import { Writer } from "../writer.js";`);
  out.push(`import { nullNotAllowed } from "../codec-support.js";`);
  if (extraImports) out.push(extraImports);
  out.push(``);
  for (const msg of messages) {
    // Nested structs first (in definition order), then the message itself.
    for (const [structName, s] of msg.structs) emitStruct(structName, s.fields, s.min, s.max, msg.flexRange, out);
    emitStruct(msg.name, msg.fields, msg.min, msg.max, msg.flexRange, out);
  }
  let text = `${out.join("\n")}\n`;
  // Unused parameters and imports would fail the strict build: drop or rename them.
  text = text.replace(
    /^(export function (?:en|de)code\w+\()(.*?)(\): .*\{\n)([\s\S]*?)^\}$/gm,
    (_all, head, params, tail, body) => {
      let p = params;
      if (!/\bversion\b/.test(body)) p = p.replace("version: number", "_version: number");
      if (!/\bm\b/.test(body)) p = p.replace(/\bm: /, "_m: ");
      if (!/\bw\b/.test(body)) p = p.replace(/\bw: /, "_w: ");
      return `${head}${p}${tail}${body}}`;
    },
  );
  if (!/UnknownTaggedField\b(?!\s*\})/.test(text.split("\n").slice(2).join("\n"))) {
    text = text.replace("import { Reader, type UnknownTaggedField }", "import type { Reader }");
  }
  if (!/nullNotAllowed\(/.test(text))
    text = text.replace(`import { nullNotAllowed } from "../codec-support.js";\n`, "");
  if (!/new Writer\(/.test(text))
    text = text.replace(`import { Writer } from "../writer.js";`, `import type { Writer } from "../writer.js";`);
  return text;
}

// ---------------------------------------------------------------------------------------------
// Main

function generate() {
  const files = new Map();
  const registry = [];
  const schemaEntries = [];
  for (const [api, min, max] of API_RANGES) {
    const request = buildMessage(readSpec(`${api}Request`), min, max);
    const response = buildMessage(readSpec(`${api}Response`), min, max);
    const specRange = parseRange(readSpec(`${api}Request`).validVersions);
    if (specRange[0] > min || specRange[1] < max) throw new Error(`${api}: spec has ${specRange}, want ${min}-${max}`);
    const file = api.replace(/([a-z])([A-Z])/g, "$1-$2").toLowerCase();
    files.set(`${file}.ts`, emitMessageFile([request, response]));
    const flexibleMin = request.flexRange ? request.flexRange[0] : null;
    registry.push({ api, file, apiKey: request.apiKey, min, max, flexibleMin });
    schemaEntries.push({
      name: `${api}Request`,
      apiKey: request.apiKey,
      min,
      max,
      flexibleMin,
      fields: schemaOf(request.fields, request.structs),
    });
    schemaEntries.push({
      name: `${api}Response`,
      apiKey: request.apiKey,
      min,
      max,
      flexibleMin,
      fields: schemaOf(response.fields, response.structs),
    });
  }
  for (const [name, min, max] of DATA_RANGES) {
    const msg = buildMessage(readSpec(name), min, max);
    const file = name.replace(/([a-z])([A-Z])/g, "$1-$2").toLowerCase();
    files.set(`${file}.ts`, emitMessageFile([msg]));
    const flexibleMin = msg.flexRange ? msg.flexRange[0] : null;
    schemaEntries.push({ name, apiKey: null, min, max, flexibleMin, fields: schemaOf(msg.fields, msg.structs) });
  }

  // The API registry: keys, names, version ranges and codecs, for the broker and the client.
  const reg = [HEADER];
  for (const r of registry) reg.push(`import * as ${camel(r.api)} from "./${r.file}.js";`);
  reg.push(`import type { ApiCodec } from "../codec-support.js";`);
  reg.push(``);
  reg.push(`export const API_CODECS = {`);
  for (const r of registry) {
    reg.push(`  ${r.api}: {`);
    reg.push(`    name: "${r.api}",`);
    reg.push(`    apiKey: ${r.apiKey},`);
    reg.push(`    minVersion: ${r.min},`);
    reg.push(`    maxVersion: ${r.max},`);
    reg.push(`    flexibleMinVersion: ${r.flexibleMin ?? "Infinity"},`);
    reg.push(`    encodeRequest: ${camel(r.api)}.encode${r.api}Request,`);
    reg.push(`    decodeRequest: ${camel(r.api)}.decode${r.api}Request,`);
    reg.push(`    encodeResponse: ${camel(r.api)}.encode${r.api}Response,`);
    reg.push(`    decodeResponse: ${camel(r.api)}.decode${r.api}Response,`);
    const t = (suffix) => `${camel(r.api)}.${r.api}${suffix}`;
    reg.push(`  } satisfies ApiCodec<${t("Request")}, ${t("Response")}, ${t("RequestInput")}, ${t("ResponseInput")}>,`);
  }
  reg.push(`} as const;`);
  reg.push(``);
  reg.push(`export type ApiName = keyof typeof API_CODECS;`);
  reg.push(``);
  for (const r of registry) reg.push(`export * from "./${r.file}.js";`);
  for (const [name] of DATA_RANGES)
    reg.push(`export * from "./${name.replace(/([a-z])([A-Z])/g, "$1-$2").toLowerCase()}.js";`);
  files.set("index.ts", `${reg.join("\n")}\n`);

  // The compact schema, as data.
  const schema = [HEADER, `import type { MessageSchema } from "../codec-support.js";`, ``];
  schema.push(`export const MESSAGE_SCHEMAS: MessageSchema[] = [`);
  for (const e of schemaEntries) {
    schema.push(
      `  { name: ${JSON.stringify(e.name)}, apiKey: ${e.apiKey}, minVersion: ${e.min}, maxVersion: ${e.max}, flexibleMinVersion: ${e.flexibleMin ?? "Infinity"}, fields: ${schemaJs(e.fields, 2)} },`,
    );
  }
  schema.push(`];`);
  files.set("schema.ts", `${schema.join("\n")}\n`);

  // Error codes: number, name and whether a client may retry.
  const rows = readFileSync(join(specRoot, "error-codes.tsv"), "utf8")
    .trim()
    .split("\n")
    .slice(1)
    .map((line) => line.split("\t"));
  const errors = [HEADER, `/** Kafka error codes by name. */`, `export const ErrorCode = {`];
  for (const [code, name] of rows) errors.push(`  ${name}: ${Number(code)},`);
  errors.push(`} as const;`, ``, `/** The codes a client may retry after (the condition is expected to pass). */`);
  const retriable = rows.filter((r) => r[2] === "true").map((r) => Number(r[0]));
  errors.push(`export const RETRIABLE_ERROR_CODES: ReadonlySet<number> = new Set([${retriable.join(", ")}]);`);
  files.set("error-codes.ts", `${errors.join("\n")}\n`);
  return files;
}

const files = generate();
if (checkOnly) {
  const stale = [];
  for (const [name, text] of files) {
    const path = join(outDir, name);
    if (!existsSync(path) || readFileSync(path, "utf8") !== text) stale.push(name);
  }
  const extra = existsSync(outDir) ? readdirSync(outDir).filter((n) => !files.has(n)) : [];
  if (stale.length || extra.length) {
    console.error(`generated protocol code is stale: ${[...stale, ...extra].join(", ")}; run npm run generate`);
    process.exit(1);
  }
  console.log(`generated protocol code matches the specs (${files.size} files)`);
} else {
  mkdirSync(outDir, { recursive: true });
  for (const [name, text] of files) writeFileSync(join(outDir, name), text);
  console.log(`wrote ${files.size} files to ${outDir}`);
}
