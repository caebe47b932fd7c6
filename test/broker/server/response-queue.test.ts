import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import type { FrameResponse } from "../../../src/broker/server/frame-handler.js";
import { ResponseQueue } from "../../../src/broker/server/response-queue.js";
import { FrameDecoder } from "../../../src/protocol/frame-decoder.js";

function unframe(chunks: Buffer[]): Buffer[] {
  const decoder = new FrameDecoder(Number.MAX_SAFE_INTEGER);
  decoder.push(Buffer.concat(chunks));
  const frames: Buffer[] = [];
  for (let frame = decoder.next(); frame !== undefined; frame = decoder.next()) frames.push(frame);
  assert.equal(decoder.bufferedBytes, 0);
  return frames;
}

describe("ResponseQueue", () => {
  it("releases responses in reservation order whatever order they are filled in", () => {
    const responseArb = fc.option(
      fc.array(
        fc.uint8Array({ maxLength: 20 }).map((b) => Buffer.from(b)),
        { maxLength: 3 },
      ),
    );
    const caseArb = fc
      .array(responseArb, { maxLength: 15 })
      .chain((responses) =>
        fc.tuple(fc.constant(responses), fc.shuffledSubarray([...responses.keys()], { minLength: responses.length })),
      );
    fc.assert(
      fc.property(caseArb, ([responses, fillOrder]) => {
        const queue = new ResponseQueue();
        const slots = responses.map(() => queue.reserve());
        const written: Buffer[] = [];
        let writtenCount = 0;
        for (const index of fillOrder) {
          queue.fill(slots[index]!, responses[index] as FrameResponse);
          const ready = queue.takeReady();
          written.push(...ready.chunks);
          writtenCount += ready.responses;
          assert.equal(ready.bytes, Buffer.concat(ready.chunks).length);
        }
        const expected = responses.filter((r) => r !== null).map((chunks) => Buffer.concat(chunks));
        assert.deepEqual(unframe(written), expected);
        assert.equal(writtenCount, expected.length);
        assert.ok(queue.isEmpty);
        assert.equal(queue.readyBytes, 0);
      }),
    );
  });

  it("holds a finished response behind an unfinished one, and counts its bytes meanwhile", () => {
    const queue = new ResponseQueue();
    const slow = queue.reserve();
    const fast = queue.reserve();
    assert.equal(queue.fill(fast, [Buffer.from("fast")]), false);
    assert.equal(queue.readyBytes, 8);
    assert.deepEqual(queue.takeReady().chunks, []);
    assert.equal(queue.fill(slow, null), true);
    const ready = queue.takeReady();
    assert.deepEqual(unframe(ready.chunks), [Buffer.from("fast")]);
    assert.equal(ready.responses, 1);
    assert.ok(queue.isEmpty);
  });

  it("refuses a response too large for an int32 size prefix", () => {
    const queue = new ResponseQueue();
    // Only the length is read before refusing, so a stand-in spares the test 2 GiB of memory.
    const half = { length: 0x4000_0000 } as Buffer;
    assert.throws(() => queue.fill(queue.reserve(), [half, half]), RangeError);
  });
});
