// Input for `brook produce`: lines read as bytes, as they arrive. Lines stay bytes (views into
// the chunk they arrived in) so that nothing is decoded and encoded again on the way to the
// producer, and non-UTF-8 input goes through unchanged.
import type { Readable } from "node:stream";

const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;

/**
 * The lines of `input`, one array per chunk read (so a caller can send each chunk's lines
 * together), without their "\n" or "\r\n". A last line without a newline counts; a newline at
 * the very end does not start an empty line. Reading waits while the caller handles a batch,
 * so a large input is never held in memory.
 */
export async function* lineBatches(input: Readable): AsyncGenerator<Buffer[]> {
  // Pieces of a line that spans chunks, joined once its newline arrives.
  let partial: Buffer[] = [];
  for await (const chunk of input) {
    const bytes: Buffer = typeof chunk === "string" ? Buffer.from(chunk, "utf8") : chunk;
    const lines: Buffer[] = [];
    let start = 0;
    for (let end = bytes.indexOf(NEWLINE, start); end !== -1; end = bytes.indexOf(NEWLINE, start)) {
      let line = bytes.subarray(start, end);
      if (partial.length > 0) {
        partial.push(line);
        line = Buffer.concat(partial);
        partial = [];
      }
      lines.push(withoutCarriageReturn(line));
      start = end + 1;
    }
    if (start < bytes.length) partial.push(bytes.subarray(start));
    if (lines.length > 0) yield lines;
  }
  if (partial.length > 0) yield [withoutCarriageReturn(Buffer.concat(partial))];
}

function withoutCarriageReturn(line: Buffer): Buffer {
  return line.length > 0 && line[line.length - 1] === CARRIAGE_RETURN ? line.subarray(0, -1) : line;
}
