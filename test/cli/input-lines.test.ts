import assert from "node:assert/strict";
import { Readable } from "node:stream";
import { describe, it } from "node:test";
import { lineBatches } from "../../src/cli/input-lines.js";

async function linesOf(chunks: string[]): Promise<{ lines: string[]; batches: number }> {
  const lines: string[] = [];
  let batches = 0;
  for await (const batch of lineBatches(Readable.from(chunks.map((chunk) => Buffer.from(chunk))))) {
    batches++;
    lines.push(...batch.map((line) => line.toString("utf8")));
  }
  return { lines, batches };
}

describe("lineBatches", () => {
  it("splits on \\n and \\r\\n, keeps empty lines, and counts a last line without a newline", async () => {
    assert.deepEqual((await linesOf(["a\nb\r\n\n\r\nc"])).lines, ["a", "b", "", "", "c"]);
    assert.deepEqual((await linesOf(["a\n"])).lines, ["a"]);
    assert.deepEqual((await linesOf([""])).lines, []);
  });

  it("joins lines that span chunks, one byte at a time included", async () => {
    const text = "first line\r\nsecond, longer line\n\nthird é line\nlast";
    const expected = ["first line", "second, longer line", "", "third é line", "last"];
    assert.deepEqual((await linesOf([text.slice(0, 7), text.slice(7, 30), text.slice(30)])).lines, expected);
    const bytes = Buffer.from(text);
    const oneByteChunks: Buffer[] = [...bytes].map((byte) => Buffer.from([byte]));
    const lines: string[] = [];
    for await (const batch of lineBatches(Readable.from(oneByteChunks))) lines.push(...batch.map(String));
    assert.deepEqual(lines, expected);
  });

  it("yields one batch per chunk with lines in it, so a caller can send a chunk's lines together", async () => {
    const { lines, batches } = await linesOf(["a\nb\nc", "d\ne\n", "no newline yet ", "then\n"]);
    assert.deepEqual(lines, ["a", "b", "cd", "e", "no newline yet then"]);
    assert.equal(batches, 3);
  });
});
