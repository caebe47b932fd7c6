// Parsers for option values: a mistake is answered with one sentence naming the option.
import { InvalidArgumentError } from "commander";

/** An integer ≥ `min`, e.g. `integer("--partitions", 1)`. */
export function integer(name: string, min: number) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === "" || !Number.isSafeInteger(n) || n < min) {
      throw new InvalidArgumentError(`${name} must be an integer >= ${min}, not "${value}".`);
    }
    return n;
  };
}

/**
 * A place in a partition, as `--from` (consume) and `--to` (group reset-offsets) take it:
 * "earliest" (or "beginning", "start"), "latest" (or "end"), an offset ("42"), or a time:
 * an ISO-8601 date/time ("2026-11-24T09:00:00Z", "2026-11-24") or epoch milliseconds after
 * "@" ("@1764000000000").
 */
export type Position = "earliest" | "latest" | { offset: number } | { timestamp: number };

export function position(name: string) {
  return (value: string): Position => {
    const text = value.trim();
    if (["earliest", "beginning", "start", "oldest"].includes(text)) return "earliest";
    if (["latest", "end", "newest"].includes(text)) return "latest";
    if (/^\d+$/.test(text) && Number.isSafeInteger(Number(text))) return { offset: Number(text) };
    if (/^@\d+$/.test(text) && Number.isSafeInteger(Number(text.slice(1)))) return { timestamp: Number(text.slice(1)) };
    const time = /^\d{4}-\d{2}-\d{2}/.test(text) ? Date.parse(text) : Number.NaN;
    if (!Number.isNaN(time)) return { timestamp: time };
    throw new InvalidArgumentError(
      `${name} takes earliest, latest, an offset, an ISO-8601 time or @epoch-milliseconds, not "${value}".`,
    );
  };
}
