import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { FrameDecoder, InvalidFrameSizeError } from "../../src/protocol/frame-decoder.js";
import { framed, sizePrefix } from "../helpers/framing.js";

const MAX = 1000;

/** Cuts bytes at the given positions (any order, duplicates allowed) into chunks. */
function cut(bytes: Buffer, positions: number[]): Buffer[] {
  const cuts = [...new Set(positions.map((p) => p % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let start = 0;
  for (const end of [...cuts, bytes.length]) {
    chunks.push(bytes.subarray(start, end));
    start = end;
  }
  return chunks;
}

/** Feeds the chunks one by one, collecting every frame into `frames` as soon as it is complete. */
function decodeInto(frames: Buffer[], decoder: FrameDecoder, chunks: Buffer[]): Buffer[] {
  for (const chunk of chunks) {
    decoder.push(chunk);
    for (let frame = decoder.next(); frame !== undefined; frame = decoder.next()) frames.push(frame);
  }
  return frames;
}

function decodeAll(decoder: FrameDecoder, chunks: Buffer[]): Buffer[] {
  return decodeInto([], decoder, chunks);
}

const payloadsArb = fc.array(
  fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes)),
  { maxLength: 20 },
);
const cutsArb = fc.array(fc.nat(), { maxLength: 30 });

describe("FrameDecoder", () => {
  it("returns every frame, exactly and in order, however the stream is cut", () => {
    fc.assert(
      fc.property(payloadsArb, cutsArb, (payloads, positions) => {
        const decoder = new FrameDecoder(MAX);
        const stream = Buffer.concat(payloads.map(framed));
        assert.deepEqual(decodeAll(decoder, cut(stream, positions)), payloads);
        assert.equal(decoder.bufferedBytes, 0);
      }),
    );
  });

  it("assembles large frames chunk by chunk, with the same frames however the stream is cut", () => {
    fc.assert(
      fc.property(payloadsArb, cutsArb, fc.integer({ min: 0, max: 300 }), (payloads, positions, assembleFrom) => {
        const decoder = new FrameDecoder(MAX, assembleFrom);
        const stream = Buffer.concat(payloads.map(framed));
        assert.deepEqual(decodeAll(decoder, cut(stream, positions)), payloads);
        assert.equal(decoder.bufferedBytes, 0);
      }),
    );
  });

  it("copies each chunk of a frame it assembles on arrival, and counts those bytes as buffered", () => {
    const payload = Buffer.from("a frame long enough to be assembled, followed by another");
    const stream = Buffer.concat([framed(payload), framed(Buffer.from("next"))]);
    const decoder = new FrameDecoder(MAX, 10);
    const chunks = [stream.subarray(0, 6), stream.subarray(6, 20), stream.subarray(20)].map((c) => Buffer.from(c));
    decoder.push(chunks[0]!);
    assert.equal(decoder.next(), undefined);
    decoder.push(chunks[1]!);
    assert.equal(decoder.next(), undefined);
    assert.equal(decoder.bufferedBytes, 16, "the 16 bytes of the payload received so far");
    chunks[1]!.fill(0); // a chunk the decoder copied on arrival may be reused by its owner
    decoder.push(chunks[2]!);
    assert.deepEqual(decoder.next(), payload);
    assert.deepEqual(decoder.next(), Buffer.from("next"));
    assert.equal(decoder.bufferedBytes, 0);
  });

  it("handles a cut at every byte boundary, and a stream fed one byte at a time", () => {
    const payloads = [Buffer.from("first"), Buffer.alloc(0), Buffer.from("third frame, a little longer")];
    const stream = Buffer.concat(payloads.map(framed));
    for (let at = 0; at <= stream.length; at++) {
      assert.deepEqual(decodeAll(new FrameDecoder(MAX), [stream.subarray(0, at), stream.subarray(at)]), payloads);
    }
    const bytes = Array.from({ length: stream.length }, (_, i) => stream.subarray(i, i + 1));
    assert.deepEqual(decodeAll(new FrameDecoder(MAX), bytes), payloads);
  });

  it("returns a frame that lies inside one chunk as a view of that chunk, without copying", () => {
    const chunk = Buffer.concat([framed(Buffer.from("one")), framed(Buffer.from("two")), sizePrefix(5)]);
    const decoder = new FrameDecoder(MAX);
    decoder.push(chunk);
    const one = decoder.next() as Buffer;
    const two = decoder.next() as Buffer;
    assert.equal(decoder.next(), undefined);
    for (const frame of [one, two]) assert.equal(frame.buffer, chunk.buffer);
    assert.equal(one.byteOffset, chunk.byteOffset + 4);
    assert.equal(decoder.bufferedBytes, 4);
  });

  it("accepts a frame of exactly the maximum size", () => {
    const decoder = new FrameDecoder(MAX);
    decoder.push(framed(Buffer.alloc(MAX, 7)));
    assert.equal(decoder.next()?.length, MAX);
  });

  it("rejects a negative or too large size as soon as its four bytes arrive, after the frames before it", () => {
    const invalidSizeArb = fc.oneof(
      fc.integer({ min: -(2 ** 31), max: -1 }),
      fc.integer({ min: MAX + 1, max: 2 ** 31 - 1 }),
    );
    fc.assert(
      fc.property(payloadsArb, invalidSizeArb, cutsArb, (payloads, size, positions) => {
        const decoder = new FrameDecoder(MAX);
        // Only the prefix is sent: the claimed payload never arrives, and need not.
        const stream = Buffer.concat([...payloads.map(framed), sizePrefix(size)]);
        const frames: Buffer[] = [];
        assert.throws(
          () => decodeInto(frames, decoder, cut(stream, positions)),
          (error) => error instanceof InvalidFrameSizeError && error.size === size && error.maxFrameSize === MAX,
        );
        assert.deepEqual(frames, payloads);
        // It keeps refusing: the stream cannot be resynchronised past a bad prefix.
        assert.throws(() => decoder.next(), InvalidFrameSizeError);
      }),
    );
  });

  it("forgets everything on clear", () => {
    const decoder = new FrameDecoder(MAX);
    decoder.push(framed(Buffer.from("half")).subarray(0, 6));
    decoder.clear();
    assert.equal(decoder.bufferedBytes, 0);
    decoder.push(framed(Buffer.from("next")));
    assert.deepEqual(decoder.next(), Buffer.from("next"));
  });
});
