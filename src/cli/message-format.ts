// How `brook consume` prints a message: the value alone (the default), a --format template, or
// a JSON object per line (--json). Keys, values and headers are printed as UTF-8 text.
import type { ConsumerMessage } from "../client/consumer.js";
import { UserError } from "./user-error.js";

export type RawMessage = ConsumerMessage<Buffer | null, Buffer | null>;

/** One message as the text of one line, without its newline. */
export type MessageFormatter = (message: RawMessage) => string;

const text = (bytes: Buffer | null): string => (bytes === null ? "" : bytes.toString("utf8"));

const FIELDS: Record<string, MessageFormatter> = {
  topic: (m) => m.topic,
  partition: (m) => String(m.partition),
  offset: (m) => String(m.offset),
  timestamp: (m) => String(m.timestamp),
  time: (m) => new Date(m.timestamp).toISOString(),
  key: (m) => text(m.key),
  value: (m) => text(m.value),
  headers: (m) => m.headers.map((h) => `${h.key}=${text(h.value)}`).join(","),
};

export const PLACEHOLDERS = Object.keys(FIELDS);

/** What --format explains in --help. */
export const FORMAT_HELP = `--format TEMPLATE prints each message as TEMPLATE followed by a newline. Placeholders:
  {topic} {partition} {offset} {key} {value}
  {timestamp}  milliseconds since the epoch      {time}  the same as ISO-8601 (UTC)
  {headers}    name=value pairs separated by ","
A null key or value prints as nothing. {{ and }} print a brace; \\t a tab, \\n a newline, \\\\ a backslash.
Example: --format '{partition}:{offset} {key}={value}'`;

export const valueOnly: MessageFormatter = FIELDS.value as MessageFormatter;

/**
 * A formatter for a template such as "{partition}:{offset} {key}={value}". The template is
 * checked once, here, so a typo fails before anything is consumed.
 */
export function parseTemplate(template: string): MessageFormatter {
  const parts: (string | MessageFormatter)[] = [];
  let literal = "";
  for (let i = 0; i < template.length; i++) {
    const char = template[i] as string;
    const next = template[i + 1];
    if (char === "\\" && next !== undefined && next in ESCAPES) {
      literal += ESCAPES[next];
      i++;
    } else if ((char === "{" && next === "{") || (char === "}" && next === "}")) {
      literal += char;
      i++;
    } else if (char === "{") {
      const end = template.indexOf("}", i);
      if (end === -1) throw new UserError(`--format: "{" at position ${i + 1} is never closed.`);
      const name = template.slice(i + 1, end).trim();
      const field = FIELDS[name];
      if (!field) {
        throw new UserError(
          `--format: {${name}} is not a placeholder; use ${PLACEHOLDERS.map((p) => `{${p}}`).join(" ")}.`,
        );
      }
      if (literal !== "") parts.push(literal);
      literal = "";
      parts.push(field);
      i = end;
    } else if (char === "}") {
      throw new UserError(`--format: "}" at position ${i + 1} closes nothing (write }} for a brace).`);
    } else {
      literal += char;
    }
  }
  if (literal !== "") parts.push(literal);
  return (message) => {
    let line = "";
    for (const part of parts) line += typeof part === "string" ? part : part(message);
    return line;
  };
}

const ESCAPES: Record<string, string> = { t: "\t", n: "\n", "\\": "\\" };

/** One JSON object: topic, partition, offset, timestamp, key, value, headers ([{key, value}], in order, names may repeat). */
export const jsonLine: MessageFormatter = (m) =>
  JSON.stringify({
    topic: m.topic,
    partition: m.partition,
    offset: m.offset,
    timestamp: m.timestamp,
    key: m.key === null ? null : m.key.toString("utf8"),
    value: m.value === null ? null : m.value.toString("utf8"),
    headers: m.headers.map((h) => ({ key: h.key, value: h.value === null ? null : h.value.toString("utf8") })),
  });
