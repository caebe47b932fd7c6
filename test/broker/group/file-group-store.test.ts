import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { crc32c } from "@node-rs/crc32";
import { FileGroupStore } from "../../../src/broker/group/file-group-store.js";
import { encodeGroupLogEntry, GroupLogFormatError } from "../../../src/broker/group/group-log-format.js";
import type { GroupRecord } from "../../../src/broker/group/group-records.js";
import { ErrorCode } from "../../../src/protocol/errors.js";
import {
  client,
  commitRequest,
  formGroup,
  heartbeatRequest,
  joinRequest,
  startCoordinator,
  subscription,
  syncRequest,
} from "./helpers.js";

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "brook-groups-"));
  dirs.push(dir);
  return dir;
}
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function offsetRecord(partition: number, offset: number, groupId = "g"): GroupRecord {
  return {
    kind: "offset",
    groupId,
    topic: "t",
    partition,
    committed: { offset, leaderEpoch: 3, metadata: `m${offset}`, commitTimestamp: 1000, expireTimestamp: -1 },
  };
}

async function reopen(dir: string): Promise<FileGroupStore> {
  const store = new FileGroupStore({ dir });
  await store.open();
  return store;
}

describe("file group store", () => {
  it("finds after a restart what was written before", async () => {
    const dir = tempDir();
    const store = new FileGroupStore({ dir });
    await store.open();
    await store.write([offsetRecord(0, 10), offsetRecord(1, 11)]);
    await store.write([offsetRecord(0, 12), { kind: "offset-removed", groupId: "g", topic: "t", partition: 1 }]);
    await store.write([offsetRecord(0, 5, "gone"), { kind: "group-removed", groupId: "gone" }]);
    await store.close();

    const reopened = await reopen(dir);
    assert.deepEqual([...reopened.state.groupIds()], ["g"]);
    assert.deepEqual(reopened.state.offsets("g")?.get("t")?.get(0), {
      offset: 12,
      leaderEpoch: 3,
      metadata: "m12",
      commitTimestamp: 1000,
      expireTimestamp: -1,
    });
    assert.equal(reopened.state.offsets("g")?.get("t")?.has(1), false);
    await reopened.close();
  });

  it("cuts off a torn tail, and appends after it survive the next restart", async () => {
    const dir = tempDir();
    const store = new FileGroupStore({ dir });
    await store.open();
    await store.write([offsetRecord(0, 1)]);
    await store.write([offsetRecord(0, 2)]);
    await store.close();
    const path = join(dir, "groups.log");
    const intact = statSync(path).size;
    appendFileSync(path, encodeGroupLogEntry([offsetRecord(0, 3)]).subarray(0, 13));

    const recovered = await reopen(dir);
    assert.equal(statSync(path).size, intact);
    assert.equal(recovered.state.offsets("g")?.get("t")?.get(0)?.offset, 2);
    await recovered.write([offsetRecord(0, 4)]);
    await recovered.close();
    const again = await reopen(dir);
    assert.equal(again.state.offsets("g")?.get("t")?.get(0)?.offset, 4);
    await again.close();
  });

  it("refuses a log written by a newer format instead of dropping it", async () => {
    const dir = tempDir();
    const entry = encodeGroupLogEntry([offsetRecord(0, 1)]);
    entry[8] = 9;
    entry.writeUInt32BE(crc32c(entry.subarray(8)), 4);
    writeFileSync(join(dir, "groups.log"), entry);
    await assert.rejects(new FileGroupStore({ dir }).open(), GroupLogFormatError);
    assert.deepEqual(readFileSync(join(dir, "groups.log")), entry, "the file is left alone");
  });

  it("compacts the log so it follows the live offsets, not the number of commits", async () => {
    const dir = tempDir();
    const store = new FileGroupStore({ dir, fsync: "never", compactionMinBytes: 4096, compactionRatio: 2 });
    await store.open();
    const path = join(dir, "groups.log");
    let largest = 0;
    for (let offset = 0; offset < 3000; offset++) {
      await store.write([offsetRecord(offset % 3, offset)]);
      largest = Math.max(largest, statSync(path).size);
    }
    assert.ok(largest < 4096 + 200, `the log grew to ${largest} bytes`);
    await store.close();
    const reopened = await reopen(dir);
    assert.deepEqual(
      [0, 1, 2].map((p) => reopened.state.offsets("g")?.get("t")?.get(p)?.offset),
      [2997, 2998, 2999],
    );
    await reopened.close();
  });

  for (const fsync of ["always", "never", { intervalMs: 5 }] as const) {
    it(`keeps every write under fsync ${JSON.stringify(fsync)}, concurrent ones included`, async () => {
      const dir = tempDir();
      const store = new FileGroupStore({ dir, fsync, compactionMinBytes: 2048 });
      await store.open();
      await Promise.all(Array.from({ length: 200 }, (_, i) => store.write([offsetRecord(i % 7, i)])));
      await store.close();
      const reopened = await reopen(dir);
      assert.equal(reopened.state.offsets("g")?.get("t")?.size, 7);
      assert.equal(
        reopened.state
          .offsets("g")
          ?.get("t")
          ?.get(199 % 7)?.offset,
        199,
      );
      await reopened.close();
    });
  }

  for (const policy of ["never", "always"]) {
    it(`keeps every acknowledged commit when the process is killed (SIGKILL, fsync ${policy})`, async () => {
      const dir = tempDir();
      const script = fileURLToPath(new URL("./commit-until-killed.js", import.meta.url));
      const child = spawn(process.execPath, [script, dir, policy], { stdio: ["ignore", "pipe", "inherit"] });
      const acknowledged = new Map<number, number>();
      let buffered = "";
      let lines = 0;
      child.stdout.setEncoding("utf8");
      child.stdout.on("data", (chunk: string) => {
        buffered += chunk;
        const complete = buffered.split("\n");
        buffered = complete.pop() ?? "";
        for (const line of complete) {
          const [partition, offset] = line.split(" ").map(Number) as [number, number];
          acknowledged.set(partition, offset);
          if (++lines === 300) child.kill("SIGKILL");
        }
      });
      const [, signal] = await once(child, "exit");
      assert.equal(signal, "SIGKILL");

      const coordinator = await startCoordinator({ store: new FileGroupStore({ dir }) });
      const fetched = coordinator.fetchOffsets("g", [{ name: "t", partitionIndexes: [0, 1, 2] }]);
      for (const { partitionIndex, committedOffset } of fetched.topics[0]?.partitions ?? []) {
        assert.ok(
          committedOffset >= (acknowledged.get(partitionIndex) ?? 0),
          `partition ${partitionIndex}: ${committedOffset} < acknowledged ${acknowledged.get(partitionIndex)}`,
        );
      }
      await coordinator.close();
    });
  }
});

describe("group coordinator over the file store", () => {
  it("commits offsets, restarts, and fetches them with their metadata and leader epoch", async () => {
    const dir = tempDir();
    const first = await startCoordinator({ store: new FileGroupStore({ dir }) });
    const request = commitRequest({ 0: 42, 2: 7 });
    for (const p of request.topics[0]?.partitions ?? []) {
      p.committedMetadata = `meta-${p.partitionIndex}`;
      p.committedLeaderEpoch = 5;
    }
    const committed = await first.commitOffsets(request);
    assert.deepEqual(
      committed[0]?.partitions.map((p) => p.errorCode),
      [ErrorCode.NONE, ErrorCode.NONE],
    );
    await first.close();

    const second = await startCoordinator({ store: new FileGroupStore({ dir }) });
    assert.deepEqual(second.fetchOffsets("g", null), {
      errorCode: ErrorCode.NONE,
      topics: [
        {
          name: "t",
          partitions: [
            { partitionIndex: 0, committedOffset: 42, committedLeaderEpoch: 5, metadata: "meta-0", errorCode: 0 },
            { partitionIndex: 2, committedOffset: 7, committedLeaderEpoch: 5, metadata: "meta-2", errorCode: 0 },
          ],
        },
      ],
    });
    assert.deepEqual(
      second.listGroups([], []).groups.map((g) => g.groupId),
      ["g"],
    );
    await second.close();
  });

  it("brings a Stable group back after a restart: members keep heartbeating in their generation", async () => {
    const dir = tempDir();
    const first = await startCoordinator({ store: new FileGroupStore({ dir }) });
    const { memberIds, generationId } = await formGroup(first, 2);
    await first.close();

    const second = await startCoordinator({ store: new FileGroupStore({ dir }) });
    const [described] = second.describeGroups(["g"]);
    assert.equal(described?.groupState, "Stable");
    assert.deepEqual(
      described?.members.map((m) => m.memberId),
      memberIds,
    );
    for (const memberId of memberIds) {
      assert.equal(second.heartbeat(heartbeatRequest({ memberId, generationId })), ErrorCode.NONE);
      const sync = await second.syncGroup(syncRequest({ memberId, generationId }));
      assert.equal(sync.errorCode, ErrorCode.NONE);
      assert.ok(sync.assignment.length > 0, "the assignment survived");
    }
    await second.close();
  });

  it("remembers an emptied group's generation, so old members are not mistaken for current ones", async () => {
    const dir = tempDir();
    const first = await startCoordinator({ store: new FileGroupStore({ dir }) });
    const { memberIds } = await formGroup(first, 1);
    first.leaveGroup("g", [{ memberId: memberIds[0] as string, groupInstanceId: null, reason: null }]);
    await first.close();

    const second = await startCoordinator({ store: new FileGroupStore({ dir }) });
    assert.equal(second.describeGroups(["g"])[0]?.groupState, "Empty");
    const join = await second.joinGroup(
      joinRequest({ protocols: [{ name: "range", metadata: subscription(["t"]) }] }),
      client("c", { requireKnownMemberId: false }),
    );
    assert.equal(join.generationId, 3, "generation 1, then 2 when it emptied, now 3");
    await second.close();
  });
});
