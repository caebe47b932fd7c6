import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { ProtocolError } from "../../src/protocol/protocol-error.js";
import { Reader } from "../../src/protocol/reader.js";
import { Writer } from "../../src/protocol/writer.js";

const protocolError = (code: string) => (error: unknown) => error instanceof ProtocolError && error.code === code;

describe("Reader: varints", () => {
  it("reads back every unsigned 32-bit varint the Writer writes, and stops right after it", () => {
    const edges = [0, 1, 127, 128, 16_383, 16_384, 2 ** 21 - 1, 2 ** 21, 2 ** 28 - 1, 2 ** 28, 2 ** 32 - 1];
    for (const value of edges) {
      const reader = new Reader(new Writer().writeUVarint(value).writeInt8(7).toBuffer());
      assert.equal(reader.readUVarint(), value);
      assert.equal(reader.readInt8(), 7, `the position after ${value}`);
    }
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), (value) => {
        assert.equal(new Reader(new Writer().writeUVarint(value).toBuffer()).readUVarint(), value);
      }),
    );
  });

  // Varlongs are exact while their zig-zag form fits 2^53: |v| < 2^52, far beyond any timestamp delta.
  it("reads back zig-zag varints and varlongs", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
        fc.integer({ min: -(2 ** 52 - 1), max: 2 ** 52 - 1 }),
        (int, long) => {
          const reader = new Reader(new Writer().writeVarint(int).writeVarlong(long).toBuffer());
          assert.equal(reader.readVarint(), int);
          assert.equal(reader.readVarlong(), long);
        },
      ),
    );
  });

  it("refuses an unsigned varint above 32 bits or longer than 5 bytes, and a truncated one", () => {
    assert.throws(
      () => new Reader(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x10])).readUVarint(),
      protocolError("PROTOCOL_BAD_VARINT"),
    );
    assert.throws(
      () => new Reader(Buffer.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x01])).readUVarint(),
      protocolError("PROTOCOL_BAD_VARINT"),
    );
    assert.throws(
      () => new Reader(Buffer.from([0x80, 0x80])).readUVarint(),
      (e: unknown) => e instanceof ProtocolError,
    );
    const bounded = new Reader(Buffer.from([0x01, 0x80, 0x01]), 0, 2);
    assert.equal(bounded.readUVarint(), 1);
    assert.throws(
      () => bounded.readUVarint(),
      (e: unknown) => e instanceof ProtocolError,
      "the reader's end, not the buffer's",
    );
  });
});

describe("Reader: nulls where the schema allows none", () => {
  /** A string and a bytes field, each null (int16 -1, int32 -1), then their compact forms (0). */
  const nulls = Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00]);

  it("refuses them by default, as the broker must for requests", () => {
    assert.throws(() => new Reader(nulls).readString(), protocolError("PROTOCOL_NEGATIVE_LENGTH"));
    assert.throws(() => new Reader(nulls, 2).readBytes(), protocolError("PROTOCOL_NEGATIVE_LENGTH"));
    assert.throws(() => new Reader(nulls, 6).readCompactString(), protocolError("PROTOCOL_NEGATIVE_LENGTH"));
    assert.throws(() => new Reader(nulls, 7).readCompactBytes(), protocolError("PROTOCOL_NEGATIVE_LENGTH"));
  });

  it("reads them as empty with nullAsEmpty, and still refuses other negative lengths", () => {
    const reader = new Reader(nulls, 0, nulls.length, { nullAsEmpty: true });
    assert.equal(reader.readString(), "");
    assert.deepEqual(reader.readBytes(), Buffer.alloc(0));
    assert.equal(reader.readCompactString(), "");
    assert.deepEqual(reader.readCompactBytes(), Buffer.alloc(0));
    assert.equal(reader.remaining, 0);
    const minusTwo = Buffer.from([0xff, 0xfe]);
    assert.throws(
      () => new Reader(minusTwo, 0, 2, { nullAsEmpty: true }).readString(),
      protocolError("PROTOCOL_NEGATIVE_LENGTH"),
    );
  });
});
