// What every command prints: rpk-style tables for people, JSON for scripts, colour only on a
// terminal that wants it (NO_COLOR and FORCE_COLOR are honoured, as most tools do).
import { stdout } from "node:process";

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
