import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import { gunzipSync } from "node:zlib";
import fc from "fast-check";
import { compress as rawSnappyCompress } from "snappy";
import { CodecId } from "../../../src/protocol/compression/codec.js";
import { CODECS, codecById, compress, decompress } from "../../../src/protocol/compression/codecs.js";
import { DecompressionBudget } from "../../../src/protocol/compression/decompression-budget.js";
import { lz4OutputBound } from "../../../src/protocol/compression/lz4.js";
import { zstdOutputBound } from "../../../src/protocol/compression/zstd.js";
import { ProtocolError } from "../../../src/protocol/protocol-error.js";

const COMPRESSED_CODECS = [CodecId.gzip, CodecId.snappy, CodecId.lz4, CodecId.zstd];

/** Compressible but not trivial: repeated text with some random bytes mixed in. */
function sample(size: number): Buffer {
  const text = Buffer.from("brook streams events; ".repeat(Math.ceil(size / 22) + 1)).subarray(0, size);
  const noise = randomBytes(Math.ceil(size / 50));
  for (let i = 0; i < noise.length; i++) text[(i * 50) % Math.max(1, size)] = noise[i] as number;
  return text;
}

async function rejectsWith(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof ProtocolError, `expected ProtocolError, got ${String(error)}`);
    assert.equal(error.code, code);
    return true;
  });
}

describe("codec table", () => {
  it("is indexed by Kafka codec id", () => {
    assert.deepEqual(
      CODECS.map((codec) => [codec.id, codec.name]),
      [
        [0, "none"],
        [1, "gzip"],
        [2, "snappy"],
        [3, "lz4"],
        [4, "zstd"],
      ],
    );
  });

  it("rejects unknown codec ids with a ProtocolError", async () => {
    for (const id of [5, 6, 7, -1, 1.5]) {
      assert.throws(() => codecById(id), ProtocolError);
      await rejectsWith(compress(id, Buffer.from("x")), "PROTOCOL_UNKNOWN_CODEC");
      await rejectsWith(decompress(id, Buffer.from("x")), "PROTOCOL_UNKNOWN_CODEC");
    }
  });

  it("passes data through for codec 0, still enforcing the limit", async () => {
    const data = Buffer.from("plain");
    assert.equal(await compress(CodecId.none, data), data);
    assert.equal(await decompress(CodecId.none, data, 5), data);
    await rejectsWith(decompress(CodecId.none, data, 4), "PROTOCOL_DECOMPRESSED_TOO_LARGE");
  });
});

describe("round trips", () => {
  for (const codec of COMPRESSED_CODECS) {
    const name = codecById(codec).name;
    for (const size of [0, 1, 100, 70_000, 1_000_000]) {
      it(`${name}: ${size} bytes`, async () => {
        const data = sample(size);
        const compressed = await compress(codec, data);
        if (size >= 100) assert.ok(compressed.length < data.length, "compressible data shrinks");
        assert.deepEqual(await decompress(codec, compressed), data);
      });
    }
  }

  it("round-trips arbitrary bytes with every codec", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 3000 }),
        fc.constantFrom(...COMPRESSED_CODECS),
        async (bytes, codec) => {
          const data = Buffer.from(bytes);
          assert.deepEqual(await decompress(codec, await compress(codec, data)), data);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe("wire formats Kafka clients expect", () => {
  it("gzip output is plain RFC 1952 gzip", async () => {
    const data = sample(5000);
    assert.deepEqual(gunzipSync(await compress(CodecId.gzip, data)), data);
  });

  it("snappy output is xerial-framed with version 1 and 32 KiB chunks", async () => {
    const data = sample(70_000);
    const out = await compress(CodecId.snappy, data);
    assert.deepEqual(out.subarray(0, 8), Buffer.from("\x82SNAPPY\0", "latin1"));
    assert.equal(out.readInt32BE(8), 1);
    assert.equal(out.readInt32BE(12), 1);
    // 70 000 bytes = chunks of 32768, 32768 and 4464 bytes.
    let at = 16;
    let chunks = 0;
    while (at < out.length) {
      at += 4 + out.readInt32BE(at);
      chunks++;
    }
    assert.equal(at, out.length);
    assert.equal(chunks, 3);
  });

  it("snappy decodes a raw block as librdkafka writes it", async () => {
    const data = sample(50_000);
    const raw = await rawSnappyCompress(data);
    assert.notDeepEqual(raw.subarray(0, 8), Buffer.from("\x82SNAPPY\0", "latin1"));
    assert.deepEqual(await decompress(CodecId.snappy, raw), data);
  });

  it("snappy decodes a hand-built xerial stream with several chunks", async () => {
    const parts = [Buffer.from("first chunk, "), Buffer.from("second chunk, "), Buffer.from("third")];
    const blocks = await Promise.all(parts.map((part) => rawSnappyCompress(part)));
    const header = Buffer.alloc(16);
    Buffer.from("\x82SNAPPY\0", "latin1").copy(header);
    header.writeInt32BE(1, 8);
    header.writeInt32BE(1, 12);
    const framed = Buffer.concat([
      header,
      ...blocks.flatMap((block) => {
        const length = Buffer.alloc(4);
        length.writeInt32BE(block.length);
        return [length, block];
      }),
    ]);
    assert.equal((await decompress(CodecId.snappy, framed)).toString(), "first chunk, second chunk, third");
  });

  it("lz4 output is one standard frame with Kafka's settings", async () => {
    const out = await compress(CodecId.lz4, sample(1000));
    assert.equal(out.readUInt32LE(0), 0x184d2204);
    const flags = out[4] as number;
    assert.equal(flags & 0xc0, 0x40, "version 1");
    assert.equal(flags & 0x20, 0x20, "independent blocks");
    assert.equal(flags & 0x08, 0, "no content size");
    assert.equal(((out[5] as number) >> 4) & 7, 4, "64 KiB blocks");
  });

  it("zstd output starts with the zstd frame magic", async () => {
    const out = await compress(CodecId.zstd, sample(1000));
    assert.equal(out.readUInt32LE(0), 0xfd2fb528);
  });
});

describe("decompression bound", () => {
  const size = 1024 * 1024;
  for (const codec of COMPRESSED_CODECS) {
    const name = codecById(codec).name;
    it(`${name}: refuses output over the limit and accepts output within it`, async () => {
      const data = Buffer.alloc(size, 0x61);
      const compressed = await compress(codec, data);
      await rejectsWith(decompress(codec, compressed, 64 * 1024), "PROTOCOL_DECOMPRESSED_TOO_LARGE");
      // lz4 and zstd bound by whole blocks (≤ 4 MiB and 128 KiB of slack); gzip and snappy are exact.
      const exact = codec === CodecId.gzip || codec === CodecId.snappy;
      const limit = exact ? size : size + 4 * 1024 * 1024;
      assert.equal((await decompress(codec, compressed, limit)).length, size);
      if (exact) await rejectsWith(decompress(codec, compressed, size - 1), "PROTOCOL_DECOMPRESSED_TOO_LARGE");
    });
  }

  it("snappy refuses a raw block whose preamble claims more than its bytes can encode", async () => {
    // Preamble 0xffffffff (5-byte varint) in front of a 3-byte body.
    const forged = Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x00, 0x01, 0x02]);
    await rejectsWith(decompress(CodecId.snappy, forged), "PROTOCOL_BAD_COMPRESSED_DATA");
  });

  it("snappy checks the sum of xerial chunk preambles before decoding any", async () => {
    const block = await rawSnappyCompress(Buffer.alloc(30_000));
    const header = Buffer.from("\x82SNAPPY\0\0\0\0\x01\0\0\0\x01", "latin1");
    const length = Buffer.alloc(4);
    length.writeInt32BE(block.length);
    const framed = Buffer.concat([header, length, block, length, block]);
    await rejectsWith(decompress(CodecId.snappy, framed, 59_999), "PROTOCOL_DECOMPRESSED_TOO_LARGE");
    assert.equal((await decompress(CodecId.snappy, framed, 60_000)).length, 60_000);
  });

  it("zstd bound follows a hand-built frame of RLE blocks, and the library agrees", async () => {
    // Frame: magic, descriptor 0 (no content size, not single segment), window 2^17 (0x38),
    // then RLE blocks (type 1) of 100 000 bytes each; the last has bit 0 set.
    const rleBlock = (size: number, last: boolean, byte: number) => {
      const header = (size << 3) | (1 << 1) | (last ? 1 : 0);
      return Buffer.from([header & 0xff, (header >> 8) & 0xff, (header >> 16) & 0xff, byte]);
    };
    const frame = (blocks: number) =>
      Buffer.concat([
        Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x38]),
        ...Array.from({ length: blocks }, (_, i) => rleBlock(100_000, i === blocks - 1, 0x7a)),
      ]);
    assert.equal(zstdOutputBound(frame(3), 1e9), 300_000);
    assert.deepEqual(await decompress(CodecId.zstd, frame(3)), Buffer.alloc(300_000, 0x7a));
    // 2 000 blocks: 8 KB of input that would inflate to 200 MB.
    await rejectsWith(decompress(CodecId.zstd, frame(2000), 1024 * 1024), "PROTOCOL_DECOMPRESSED_TOO_LARGE");
  });

  it("zstd refuses a frame announcing a content size over the limit", async () => {
    // Single-segment frame (0x20) with an 8-byte content size (0xc0) of 2^40.
    const header = Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0xe0, 0, 0, 0, 0, 0, 1, 0, 0]);
    await rejectsWith(decompress(CodecId.zstd, header), "PROTOCOL_DECOMPRESSED_TOO_LARGE");
  });

  it("lz4 bound is within one block of the real size", async () => {
    const data = sample(200_000);
    const bound = lz4OutputBound(await compress(CodecId.lz4, data));
    assert.ok(bound >= data.length && bound <= data.length + 64 * 1024, `bound ${bound}`);
  });

  it("a budget is shared by every payload decoded from one input", async () => {
    const compressed = await compress(CodecId.gzip, Buffer.alloc(600));
    const budget = new DecompressionBudget(1000);
    assert.equal((await budget.decompress(CodecId.gzip, compressed)).length, 600);
    assert.equal(budget.remainingBytes, 400);
    await rejectsWith(budget.decompress(CodecId.gzip, compressed), "PROTOCOL_DECOMPRESSED_TOO_LARGE");
  });
});

describe("bad input", () => {
  it("corrupt payloads are ProtocolErrors for every codec", async () => {
    for (const codec of COMPRESSED_CODECS) {
      await rejectsWith(decompress(codec, Buffer.from("definitely not compressed")), "PROTOCOL_BAD_COMPRESSED_DATA");
      const valid = await compress(codec, sample(10_000));
      await rejectsWith(decompress(codec, valid.subarray(0, valid.length - 7)), "PROTOCOL_BAD_COMPRESSED_DATA");
    }
  });

  it("random and mutated bytes only ever raise ProtocolError", async () => {
    const valid = await Promise.all(COMPRESSED_CODECS.map((codec) => compress(codec, sample(5000))));
    const mutated = fc
      .tuple(
        fc.nat({ max: COMPRESSED_CODECS.length - 1 }),
        fc.array(fc.tuple(fc.nat(), fc.nat({ max: 255 })), { maxLength: 8 }),
      )
      .map(([index, edits]) => {
        const bytes = Buffer.from(valid[index] as Buffer);
        for (const [at, value] of edits) bytes[at % bytes.length] = value;
        return { codec: COMPRESSED_CODECS[index] as number, bytes };
      });
    const random = fc.record({
      codec: fc.constantFrom(...COMPRESSED_CODECS),
      bytes: fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)),
    });
    await fc.assert(
      fc.asyncProperty(fc.oneof(mutated, random), async ({ codec, bytes }) => {
        try {
          const out = await decompress(codec, bytes, 1024 * 1024);
          assert.ok(out.length <= 1024 * 1024);
        } catch (error) {
          assert.ok(error instanceof ProtocolError, `non-ProtocolError: ${String(error)}`);
        }
      }),
      { numRuns: 1000 },
    );
  });
});
