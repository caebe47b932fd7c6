// What every command prints: rpk-style tables for people, JSON for scripts, colour only on a
// terminal that wants it (NO_COLOR and FORCE_COLOR are honoured, as most tools do).
import { stdout } from "node:process";
import { UserError } from "./user-error.js";

export interface TableColumn<Row> {
  title: string;
  value: (row: Row) => string | number | bigint | null | undefined;
  /** Numbers read best right-aligned; the default is left. */
  align?: "left" | "right";
}

/** The rows as a table with a header, columns separated by two spaces, no trailing spaces. */
export function formatTable<Row>(columns: readonly TableColumn<Row>[], rows: readonly Row[]): string {
  const cells = rows.map((row) => columns.map((column) => String(column.value(row) ?? "-")));
  const titles = columns.map((column) => column.title.toUpperCase());
  const widths = titles.map((title, i) => Math.max(title.length, ...cells.map((line) => (line[i] as string).length)));
  const line = (values: readonly string[]) =>
    values
      .map((value, i) => {
        const width = widths[i] as number;
        return columns[i]?.align === "right" ? value.padStart(width) : value.padEnd(width);
      })
      .join("  ")
      .trimEnd();
  return [line(titles), ...cells.map(line)].join("\n");
}

export function printTable<Row>(columns: readonly TableColumn<Row>[], rows: readonly Row[]): void {
  stdout.write(`${formatTable(columns, rows)}\n`);
}

/** JSON for scripts: one document, bigints as numbers when they fit and strings when they do not. */
export function printJson(value: unknown): void {
  stdout.write(`${JSON.stringify(value, jsonReplacer, 2)}\n`);
}

export function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === "bigint") {
    return value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= BigInt(Number.MIN_SAFE_INTEGER)
      ? Number(value)
      : value.toString();
  }
  if (Buffer.isBuffer(value)) return value.toString("utf8");
  return value;
}

function colourWanted(stream: NodeJS.WriteStream): boolean {
  if (process.env.NO_COLOR) return false;
  if (process.env.FORCE_COLOR && process.env.FORCE_COLOR !== "0") return true;
  return stream.isTTY === true && stream.hasColors?.() === true;
}

const paint = (code: number) => (text: string) => (colourWanted(stdout) ? `\x1b[${code}m${text}\x1b[0m` : text);

export const colour = {
  bold: paint(1),
  dim: paint(2),
  red: paint(31),
  green: paint(32),
  yellow: paint(33),
  cyan: paint(36),
};

/** 1536 → "1.5 KiB". */
export function formatBytes(bytes: number | bigint): string {
  let value = Number(bytes);
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/** What happened to one item of a command that acts on several (topics created, groups deleted). */
export interface ItemOutcome {
  name: string;
  /** Null when it worked. */
  error: string | null;
}

/**
 * Runs `action` for each name one after another, so that one failure does not hide what happened
 * to the others. Failures the cluster answered about that item (a Kafka error code) are outcomes;
 * anything else (the cluster is unreachable) ends the command at once.
 */
export async function eachItem(
  names: readonly string[],
  action: (name: string) => Promise<void>,
  isItemError: (error: unknown) => error is Error,
): Promise<ItemOutcome[]> {
  const outcomes: ItemOutcome[] = [];
  for (const name of names) {
    try {
      await action(name);
      outcomes.push({ name, error: null });
    } catch (error) {
      if (!isItemError(error)) throw error;
      outcomes.push({ name, error: error.message });
    }
  }
  return outcomes;
}

/**
 * Reports the outcomes as a NAME / STATUS table (or JSON: `{ [key]: [{ name, status, error }] }`),
 * then fails with one sentence if any item failed: that item's error, or how many failed. When
 * the only item failed, the sentence alone says it all and no table is printed.
 */
export function reportOutcomes(
  outcomes: readonly ItemOutcome[],
  options: { title: string; key: string; success: string; json: boolean },
): void {
  const failed = outcomes.filter((o) => o.error !== null);
  const single = outcomes.length === 1 && failed.length === 1;
  if (options.json) {
    printJson({
      [options.key]: outcomes.map((o) => ({
        name: o.name,
        status: o.error === null ? options.success : "failed",
        error: o.error,
      })),
    });
  } else if (!single) {
    printTable<ItemOutcome>(
      [
        { title: options.title, value: (o) => o.name },
        { title: "status", value: (o) => (o.error === null ? colour.green(options.success) : colour.red(o.error)) },
      ],
      outcomes,
    );
  }
  if (failed.length === 1) throw new UserError(`${(failed[0] as ItemOutcome).error}.`);
  if (failed.length > 1) {
    const names = failed.map((o) => `'${o.name}'`).join(", ");
    throw new UserError(`${failed.length} of ${outcomes.length} ${options.key} failed: ${names}.`);
  }
}

/** Labelled values one per line, labels upper-case and aligned: a summary above the tables. */
export function printFields(fields: readonly (readonly [label: string, value: string | number | null])[]): void {
  const width = Math.max(0, ...fields.map(([label]) => label.length));
  const lines = fields.map(([label, value]) => `${label.toUpperCase().padEnd(width)}  ${value ?? "-"}`.trimEnd());
  stdout.write(`${lines.join("\n")}\n`);
}
