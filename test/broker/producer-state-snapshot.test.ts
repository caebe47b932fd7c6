// A clean shutdown leaves the idempotent producers' state in a snapshot; the next start loads it
// instead of reading the active segments' batch headers, which only know their own batches.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { Broker } from "../../src/broker/broker.js";
import { CLEAN_SHUTDOWN_MARKER } from "../../src/broker/storage/clean-shutdown.js";
import { Connection } from "../../src/client/connection.js";
import { ErrorCode } from "../../src/protocol/errors.js";
import { batchOf, createTopic, produce } from "../helpers/broker-client.js";

const SNAPSHOT = "producer-state.snapshot";
const PRODUCER = { producerId: 4242, producerEpoch: 0 };
const directories: string[] = [];

after(() => {
  for (const directory of directories) rmSync(directory, { recursive: true, force: true });
});

async function withBroker<T>(dataDir: string, work: (client: Connection) => Promise<T>): Promise<T> {
  const broker = await Broker.start({ dataDir, host: "127.0.0.1", port: 0, fsync: "never" });
  const client = new Connection({ host: "127.0.0.1", port: broker.listenAddress.port, clientId: "brook-test" });
  try {
    await client.ready;
    return await work(client);
  } finally {
    await client.close();
    await broker.close();
  }
}

/** Three idempotent batches, each in a segment of its own: the first two end up in rolled segments. */
async function writeThreeBatches(): Promise<string> {
  const dataDir = mkdtempSync(join(tmpdir(), "brook-producer-snapshot-"));
  directories.push(dataDir);
  await withBroker(dataDir, async (client) => {
    await createTopic(client, "snap", 1, { "segment.bytes": "100" });
    for (let sequence = 0; sequence < 3; sequence++) {
      const batch = await batchOf(["v".repeat(200)], { ...PRODUCER, baseSequence: sequence });
      const produced = await produce(client, "snap", 0, batch);
      assert.deepEqual([produced.errorCode, produced.baseOffset], [ErrorCode.NONE, sequence]);
    }
  });
  assert.ok(existsSync(join(dataDir, SNAPSHOT)), "a clean shutdown writes the snapshot");
  return dataDir;
}

/** The first batch sent again, as a producer that saw no answer for it would. */
async function retryFirstBatch(dataDir: string) {
  return withBroker(dataDir, async (client) => {
    assert.ok(!existsSync(join(dataDir, SNAPSHOT)), "the start removed the snapshot");
    return produce(client, "snap", 0, await batchOf(["v".repeat(200)], { ...PRODUCER, baseSequence: 0 }));
  });
}

describe("the producer state snapshot of a clean shutdown", () => {
  it("lets a restart recognise a retried batch that sits in a rolled segment", async () => {
    const dataDir = await writeThreeBatches();
    const retried = await retryFirstBatch(dataDir);
    assert.deepEqual([retried.errorCode, retried.baseOffset], [ErrorCode.NONE, 0], "answered with its first offset");
  });

  it("is not used after a crash: the state comes from the active segment alone", async () => {
    const dataDir = await writeThreeBatches();
    // What a crash leaves: the snapshot of some earlier close, and no clean-shutdown marker.
    rmSync(join(dataDir, CLEAN_SHUTDOWN_MARKER));
    const retried = await retryFirstBatch(dataDir);
    assert.equal(retried.errorCode, ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
  });
});
