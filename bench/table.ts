// Plain-text tables for benchmark output. The layout is a Markdown table with padded columns,
// so it reads well in a terminal and can be pasted into a document or an issue as is.

export interface Column {
  title: string;
  /** Numbers read best right-aligned; the default is left. */
  align?: "left" | "right";
}

/** The table as lines of text; rows shorter than the column list are padded with empty cells. */
export function formatTable(columns: readonly Column[], rows: readonly (readonly string[])[]): string {
  const cell = (row: readonly string[], i: number) => row[i] ?? "";
  const widths = columns.map((column, i) => Math.max(column.title.length, ...rows.map((row) => cell(row, i).length)));
  const pad = (text: string, i: number) =>
    columns[i]?.align === "right" ? text.padStart(widths[i] as number) : text.padEnd(widths[i] as number);
  const line = (cells: readonly string[]) => `| ${cells.map(pad).join(" | ")} |`;
  const rule = `|${columns.map((column, i) => (column.align === "right" ? `${"-".repeat((widths[i] as number) + 1)}:` : "-".repeat((widths[i] as number) + 2))).join("|")}|`;
  return [
    line(columns.map((c) => c.title)),
    rule,
    ...rows.map((row) => line(columns.map((_, i) => cell(row, i)))),
  ].join("\n");
}

export function printTable(columns: readonly Column[], rows: readonly (readonly string[])[]): void {
  process.stdout.write(`${formatTable(columns, rows)}\n`);
}

/**
 * A number rounded to `digits` significant digits, with thousands separators: 1234567 →
 * "1,230,000", 0.0012345 → "0.00123". Benchmarks are not more precise than that.
 */
export function significant(value: number, digits = 3): string {
  if (!Number.isFinite(value)) return String(value);
  if (value === 0) return "0";
  const magnitude = Math.floor(Math.log10(Math.abs(value)));
  const decimals = Math.max(0, digits - 1 - magnitude);
  const rounded = Number(value.toPrecision(digits));
  return rounded.toLocaleString("en-US", { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
}

/** A byte count in B, KiB or MiB. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${significant(bytes / 1024)} KiB`;
  return `${significant(bytes / (1024 * 1024))} MiB`;
}
