import type { FieldSchema, MessageSchema, VersionRange } from "../protocol/codec-support.js";
import { MESSAGE_SCHEMAS } from "../protocol/generated/schema.js";

/**
 * Builds the response a broker gives when a whole request fails with one error, for any API and
 * version, from the message schemas rather than by hand per API — as Kafka's own
 * `getErrorResponse` does: every error code in the response carries the error (the top-level one
 * and those of the topics and partitions the request named), the request's topics, partitions,
 * groups and resources are echoed back so the client can match the errors to what it asked for,
 * and everything else holds an "unknown" value (-1 offsets, epochs and ids, empty lists).
 */

type Struct = Record<string, unknown>;

interface Source {
  readonly fields: readonly FieldSchema[];
  readonly value: Struct;
  /** An entry of a request list (a topic, a partition), whose first field is its key. */
  readonly entry: boolean;
}

const ZERO_UUID = "00000000-0000-0000-0000-000000000000";
const RESPONSE_SCHEMAS = schemasOf("Response");
const REQUEST_SCHEMAS = schemasOf("Request");

function schemasOf(suffix: string): Map<number, MessageSchema> {
  const byKey = new Map<number, MessageSchema>();
  for (const schema of MESSAGE_SCHEMAS) {
    if (schema.apiKey !== null && schema.name.endsWith(suffix)) byKey.set(schema.apiKey, schema);
  }
  return byKey;
}

export function errorResponse(
  apiKey: number,
  version: number,
  request: unknown,
  errorCode: number,
  errorMessage: string,
): Struct {
  const responseSchema = RESPONSE_SCHEMAS.get(apiKey);
  const requestSchema = REQUEST_SCHEMAS.get(apiKey);
  if (!responseSchema || !requestSchema) throw new RangeError(`no message schema for API key ${apiKey}`);
  const builder = new ErrorResponseBuilder(version, errorCode, errorMessage);
  return builder.struct(responseSchema.fields, {
    fields: requestSchema.fields,
    value: asStruct(request),
    entry: false,
  });
}

function asStruct(value: unknown): Struct {
  return typeof value === "object" && value !== null ? (value as Struct) : {};
}

function within(range: VersionRange | undefined, version: number): boolean {
  return range !== undefined && version >= range[0] && version <= range[1];
}

class ErrorResponseBuilder {
  constructor(
    private readonly version: number,
    private readonly errorCode: number,
    private readonly errorMessage: string,
  ) {}

  struct(fields: readonly FieldSchema[], source: Source | undefined): Struct {
    const present = this.present(fields);
    const arrays = source ? this.pairArrays(present, this.present(source.fields)) : new Map<string, FieldSchema>();
    const result: Struct = {};
    for (const [index, field] of present.entries()) {
      if (field.name === "errorCode") result[field.name] = this.errorCode;
      else if (field.name === "errorMessage") result[field.name] = this.errorMessage;
      else if (field.name === "throttleTimeMs") result[field.name] = 0;
      else if (field.type === "[]struct") result[field.name] = this.mirror(field, source, arrays.get(field.name));
      else if (field.type === "struct") result[field.name] = this.struct(field.fields ?? [], undefined);
      else
        result[field.name] =
          this.echoed(field, index === 0 && source?.entry === true, source) ?? this.unknownValue(field);
    }
    return result;
  }

  /** The fields of this version, without tagged ones (they are optional and default when absent). */
  private present(fields: readonly FieldSchema[]): FieldSchema[] {
    return fields.filter((f) => within(f.versions, this.version) && !within(f.taggedVersions, this.version));
  }

  /**
   * Which request list each response list answers: the one of the same name, or else the next
   * unclaimed one in order (Produce's topicData → responses, Fetch's partitions → partitions,
   * DeleteTopics' topicNames → responses). Only lists whose entries carry an error code mirror
   * the request; the others (Metadata's brokers, JoinGroup's members) stay empty.
   */
  private pairArrays(response: readonly FieldSchema[], request: readonly FieldSchema[]): Map<string, FieldSchema> {
    const candidates = response.filter((f) => f.type === "[]struct" && this.carriesError(f.fields ?? []));
    const unclaimed = request.filter((f) => f.type.startsWith("[]"));
    const pairs = new Map<string, FieldSchema>();
    for (const field of candidates) {
      const sameName = unclaimed.find((f) => f.name === field.name && f.type === "[]struct");
      if (sameName) {
        pairs.set(field.name, sameName);
        unclaimed.splice(unclaimed.indexOf(sameName), 1);
      }
    }
    for (const field of candidates) {
      if (pairs.has(field.name)) continue;
      const next = unclaimed.shift();
      if (next) pairs.set(field.name, next);
    }
    return pairs;
  }

  private carriesError(fields: readonly FieldSchema[]): boolean {
    return this.present(fields).some(
      (f) =>
        f.name === "errorCode" || ((f.type === "[]struct" || f.type === "struct") && this.carriesError(f.fields ?? [])),
    );
  }

  private mirror(field: FieldSchema, source: Source | undefined, from: FieldSchema | undefined): Struct[] {
    if (!source || !from) return [];
    const entries = source.value[from.name];
    if (!Array.isArray(entries)) return []; // a null list: "all topics", which we cannot name
    const fields = field.fields ?? [];
    if (from.type === "[]struct") {
      return entries.map((entry) =>
        this.struct(fields, { fields: from.fields ?? [], value: asStruct(entry), entry: true }),
      );
    }
    // A list of names or numbers: each becomes the key field of its answer.
    const elementType = from.type.slice(2);
    const key = this.present(fields).find((f) => f.type === elementType && f.name !== "errorMessage");
    return entries.map((entry) => {
      const answer = this.struct(fields, undefined);
      if (key) answer[key.name] = entry;
      return answer;
    });
  }

  /**
   * The request's value for a response field: the request field of the same name and type, or for
   * the first field (the key: a partition's index, a topic's name) the request's first field.
   */
  private echoed(field: FieldSchema, isKey: boolean, source: Source | undefined): unknown {
    if (!source) return undefined;
    const requestFields = this.present(source.fields);
    const sameName = requestFields.find((f) => f.name === field.name && f.type === field.type);
    if (sameName) return source.value[sameName.name];
    const first = requestFields[0];
    if (isKey && first && first.type === field.type) return source.value[first.name];
    return undefined;
  }

  private unknownValue(field: FieldSchema): unknown {
    const nullable = within(field.nullable, this.version);
    switch (field.type) {
      case "int16":
      case "int32":
      case "int64":
        return -1;
      case "bool":
        return false;
      case "string":
        return nullable ? null : "";
      case "uuid":
        return ZERO_UUID;
      case "records":
        return Buffer.alloc(0);
      case "bytes":
        return nullable ? null : Buffer.alloc(0);
      default:
        // int8, uint16, float64 and lists of primitives.
        return field.type.startsWith("[]") ? [] : 0;
    }
  }
}
