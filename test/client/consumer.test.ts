import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type Assignor, Consumer, type ConsumerMessage } from "../../src/client/consumer.js";
import { BrookError } from "../../src/client/errors.js";
import * as brook from "../../src/index.js";
import { ErrorCode } from "../../src/protocol/errors.js";
import { encodeResponsePayload, responseHeaderVersion } from "../../src/protocol/frames.js";
import { API_CODECS } from "../../src/protocol/generated/index.js";
import { Reader } from "../../src/protocol/reader.js";
import { startBroker, type TestBroker } from "../../src/testing/index.js";
import {
  consume,
  deferred,
  eventually,
  FAST_GROUP,
  FAST_RETRY,
  GROUP_BROKER_OPTIONS,
  keyedMessages,
  labels,
  produce,
  uniqueName,
} from "./consumer/helpers.js";
import { startProxiedBroker } from "./helpers/kafka-proxy.js";

const unhandled: unknown[] = [];
process.on("unhandledRejection", (reason) => unhandled.push(reason));

describe("Consumer", () => {
  let broker: TestBroker;
  const consumers: Consumer<unknown, unknown>[] = [];

  /** A consumer of the test broker, closed after the tests. */
  function consumer<V = Buffer | null, K = Buffer | null>(
    options: Partial<ConstructorParameters<typeof Consumer<V, K>>[0]> = {},
  ): Consumer<V, K> {
    const created = new Consumer<V, K>({ brokers: [broker.bootstrap], retry: FAST_RETRY, ...FAST_GROUP, ...options });
    consumers.push(created as Consumer<unknown, unknown>);
    return created;
  }

  before(async () => {
    broker = await startBroker({ defaultPartitions: 3, ...GROUP_BROKER_OPTIONS });
  });
  after(async () => {
    await Promise.all(consumers.map((c) => c.close()));
    await broker.stop();
    assert.deepEqual(unhandled, [], "no promise rejection went unhandled");
  });

  describe("in a group", () => {
    it("delivers keys, values, headers, timestamps, partitions and offsets as produced", async () => {
      const topic = uniqueName("fields");
      const produced = await produce(
        broker.bootstrap,
        topic,
        Array.from({ length: 60 }, (_, i) => ({
          key: i % 7 === 0 ? null : `key-${i}`,
          value: i % 11 === 0 ? null : `value-${i}`,
          timestamp: 1_700_000_000_000 + i,
          headers: [
            { key: "trace", value: `t-${i}` },
            { key: "trace", value: Buffer.from([0, 255, i]) },
            { key: "empty", value: null },
          ],
        })),
      );
      const reader = consumer<string | null, string | null>({
        groupId: uniqueName("group"),
        autoOffsetReset: "earliest",
        keyDeserializer: "string",
        valueDeserializer: "string",
      });
      await reader.subscribe({ topics: [topic] });
      const messages: ConsumerMessage<string | null, string | null>[] = [];
      for await (const message of reader) {
        messages.push(message);
        if (messages.length === 60) break;
      }
      const byIndex = new Map(messages.map((m) => [m.timestamp - 1_700_000_000_000, m]));
      for (let i = 0; i < 60; i++) {
        const message = byIndex.get(i);
        assert.ok(message, `message ${i} was delivered`);
        assert.equal(message.topic, topic);
        assert.equal(message.key, i % 7 === 0 ? null : `key-${i}`);
        assert.equal(message.value, i % 11 === 0 ? null : `value-${i}`);
        assert.deepEqual(message.headers, [
          { key: "trace", value: Buffer.from(`t-${i}`) },
          { key: "trace", value: Buffer.from([0, 255, i]) },
          { key: "empty", value: null },
        ]);
        assert.equal(message.partition, produced[i]?.partition);
        assert.equal(message.offset, produced[i]?.offset);
      }
      // In order within each partition.
      for (const partition of [0, 1, 2]) {
        const offsets = messages.filter((m) => m.partition === partition).map((m) => m.offset);
        assert.deepEqual(
          offsets,
          [...offsets].sort((a, b) => a - b),
        );
      }
    });

    it("commit() commits what was delivered, and the next member of the group resumes after it", async () => {
      const topic = uniqueName("resume");
      const groupId = uniqueName("group");
      await produce(broker.bootstrap, topic, keyedMessages(90));
      const first = consumer({ groupId, autoOffsetReset: "earliest", autoCommit: false });
      await first.subscribe({ topics: [topic] });
      const firstHalf = await consume(first, 50);
      await first.commit();
      const committed = await first.committed();
      assert.equal(
        committed.reduce((sum, p) => sum + p.offset, 0),
        50,
        "the committed offsets add up to the 50 messages delivered",
      );
      await first.close();
      await produce(broker.bootstrap, topic, keyedMessages(10, 90));
      const second = consumer<null, string>({ groupId, autoOffsetReset: "earliest", keyDeserializer: "string" });
      await second.subscribe({ topics: [topic] });
      const rest = await consume(second, 50);
      const keys = [...firstHalf.map((m) => String(m.key)), ...rest.map((m) => m.key)];
      assert.equal(new Set(keys).size, 100, "no message twice, none missing");
      assert.deepEqual(await second.poll({ timeoutMs: 200 }), []);
    });

    it("commit(message) commits offset + 1, commit({ offsets }) commits the offsets as given", async () => {
      const topic = uniqueName("explicit");
      const groupId = uniqueName("group");
      await produce(
        broker.bootstrap,
        topic,
        keyedMessages(20).map((m) => ({ ...m, partition: 0 })),
      );
      const reader = consumer({ groupId, autoOffsetReset: "earliest", autoCommit: false });
      await reader.subscribe({ topics: [topic] });
      const messages = await consume(reader, 20);
      await reader.commit(messages[4] as ConsumerMessage);
      assert.deepEqual(await reader.committed([{ topic, partition: 0 }]), [{ topic, partition: 0, offset: 5 }]);
      await reader.commit([messages[2] as ConsumerMessage, messages[9] as ConsumerMessage]);
      assert.deepEqual(await reader.committed([{ topic, partition: 0 }]), [{ topic, partition: 0, offset: 10 }]);
      await reader.commit({ offsets: [{ topic, partition: 0, offset: 3, metadata: "rewound" }] });
      assert.deepEqual(await reader.committed([{ topic, partition: 0 }]), [{ topic, partition: 0, offset: 3 }]);
      await reader.commit();
      assert.deepEqual(await reader.committed([{ topic, partition: 0 }]), [{ topic, partition: 0, offset: 20 }]);
    });

    it("auto-commits what the application pulled past, not the message it holds, and the rest on close", async () => {
      const topic = uniqueName("auto");
      const groupId = uniqueName("group");
      await produce(
        broker.bootstrap,
        topic,
        keyedMessages(10).map((m) => ({ ...m, partition: 1 })),
      );
      const reader = consumer({ groupId, autoOffsetReset: "earliest", autoCommitIntervalMs: 20 });
      await reader.subscribe({ topics: [topic] });
      const iterator = reader[Symbol.asyncIterator]();
      for (let i = 0; i < 4; i++) await iterator.next();
      // The fourth message (offset 3) is still in the application's hands.
      const committedOffset = async () => (await reader.committed([{ topic, partition: 1 }]))[0]?.offset;
      await eventually(async () => (await committedOffset()) === 3, "auto-commit of offsets 0-2");
      await reader.close();
      const check = consumer({ groupId });
      assert.deepEqual(await check.committed([{ topic, partition: 1 }]), [{ topic, partition: 1, offset: 4 }]);
    });

    it("calls onPartitionsAssigned after joining and onPartitionsRevoked on close", async () => {
      const topic = uniqueName("listeners");
      await produce(broker.bootstrap, topic, keyedMessages(3));
      const events: string[] = [];
      const assigned = deferred();
      const reader = consumer({ groupId: uniqueName("group") });
      await reader.subscribe({
        topics: [topic],
        onPartitionsAssigned: async (partitions) => {
          events.push(`assigned ${labels(partitions).join(",")}`);
          assigned.resolve();
        },
        onPartitionsRevoked: (partitions) => {
          events.push(`revoked ${labels(partitions).join(",")}`);
        },
      });
      await assigned.promise;
      assert.deepEqual(labels(reader.assignment()), [`${topic}-0`, `${topic}-1`, `${topic}-2`]);
      await reader.close();
      assert.deepEqual(events, [
        `assigned ${topic}-0,${topic}-1,${topic}-2`,
        `revoked ${topic}-0,${topic}-1,${topic}-2`,
      ]);
    });

    it("close() leaves the group: another member takes over at once, not after the session timeout", async () => {
      const topic = uniqueName("leave");
      const groupId = uniqueName("group");
      await produce(broker.bootstrap, topic, keyedMessages(3));
      const options = { groupId, sessionTimeoutMs: 60_000, heartbeatIntervalMs: 100 };
      const [leaving, staying] = [consumer(options), consumer(options)];
      for (const member of [leaving, staying]) await member.subscribe({ topics: [topic] });
      await eventually(
        () => leaving.assignment().length > 0 && leaving.assignment().length + staying.assignment().length === 3,
        "the two members sharing the topic",
      );
      await leaving.close();
      // Far sooner than the 60 s session timeout: only LeaveGroup makes it this quick.
      await eventually(() => staying.assignment().length === 3, "the other member taking everything", 5_000);
    });

    it("a seek() in onPartitionsAssigned decides where a partition starts", async () => {
      const topic = uniqueName("seek-on-assign");
      await produce(
        broker.bootstrap,
        topic,
        keyedMessages(10).map((m) => ({ ...m, partition: 2 })),
      );
      const reader = consumer({ groupId: uniqueName("group"), autoOffsetReset: "earliest" });
      await reader.subscribe({
        topics: [topic],
        onPartitionsAssigned: (partitions) => {
          for (const p of partitions) if (p.partition === 2) reader.seek({ ...p, offset: 7 });
        },
      });
      const messages = await consume(reader, 3);
      assert.deepEqual(
        messages.map((m) => m.offset),
        [7, 8, 9],
      );
    });

    it("picks up new topics that match a RegExp subscription", async () => {
      const prefix = uniqueName("rx");
      await produce(broker.bootstrap, `${prefix}-a`, keyedMessages(3));
      const reader = consumer<Buffer, Buffer>({
        groupId: uniqueName("group"),
        autoOffsetReset: "earliest",
        metadataMaxAgeMs: 100,
      });
      await reader.subscribe({ topics: new RegExp(`^${prefix}-`) });
      const before = await consume(reader, 3);
      assert.ok(before.every((m) => m.topic === `${prefix}-a`));
      await produce(broker.bootstrap, `${prefix}-b`, keyedMessages(4));
      await produce(broker.bootstrap, `other-${prefix}-c`, keyedMessages(1));
      const after = await consume(reader, 4);
      assert.ok(after.every((m) => m.topic === `${prefix}-b`));
      assert.ok(labels(reader.assignment()).includes(`${prefix}-b-0`));
      assert.ok(!labels(reader.assignment()).some((l) => l.startsWith("other-")));
    });

    it("subscribe() again changes the subscription: the old topic's partitions are revoked, the new one's assigned", async () => {
      const [first, second] = [uniqueName("before"), uniqueName("after")];
      await produce(broker.bootstrap, first, keyedMessages(3));
      await produce(broker.bootstrap, second, keyedMessages(3));
      const revoked: string[] = [];
      const reader = consumer({ groupId: uniqueName("group"), autoOffsetReset: "earliest" });
      const listeners = {
        onPartitionsRevoked: (p: { topic: string; partition: number }[]) => void revoked.push(...labels(p)),
      };
      await reader.subscribe({ topics: [first], ...listeners });
      assert.ok((await consume(reader, 3)).every((m) => m.topic === first));
      await reader.subscribe({ topics: [second], ...listeners });
      assert.ok((await consume(reader, 3)).every((m) => m.topic === second));
      assert.deepEqual(
        revoked,
        [0, 1, 2].map((p) => `${first}-${p}`),
      );
      assert.deepEqual(
        labels(reader.assignment()),
        [0, 1, 2].map((p) => `${second}-${p}`),
      );
    });

    it("keeps heartbeating while the application is busy for longer than the session timeout", async () => {
      const topic = uniqueName("busy");
      await produce(broker.bootstrap, topic, keyedMessages(6));
      const revoked: string[] = [];
      const reader = consumer({ groupId: uniqueName("group"), autoOffsetReset: "earliest", sessionTimeoutMs: 1_000 });
      await reader.subscribe({ topics: [topic], onPartitionsRevoked: (p) => void revoked.push(...labels(p)) });
      const [first] = await consume(reader, 1);
      // Hold the message for 2.5 session timeouts: only heartbeats keep the member in the group.
      await new Promise((resolve) => setTimeout(resolve, 2_500));
      const rest = await consume(reader, 5);
      assert.equal(new Set([first, ...rest].map((m) => m?.offset + (m?.partition ?? 0) * 1000)).size, 6);
      assert.deepEqual(revoked, []);
    });

    it("leaves the group when the application holds messages longer than maxPollIntervalMs, and rejoins when it pulls", async () => {
      const topic = uniqueName("liveness");
      const groupId = uniqueName("group");
      await produce(broker.bootstrap, topic, keyedMessages(30));
      const lost = deferred<string[]>();
      const slow = consumer({ groupId, autoOffsetReset: "earliest", maxPollIntervalMs: 600, autoCommit: false });
      await slow.subscribe({ topics: [topic], onPartitionsLost: (p) => lost.resolve(labels(p)) });
      await consume(slow, 1);
      // The application now holds that message; another member takes over the partitions.
      const tookOver = deferred();
      const other = consumer({ groupId, autoOffsetReset: "earliest" });
      await other.subscribe({
        topics: [topic],
        onPartitionsAssigned: (partitions) => {
          if (partitions.length === 3) tookOver.resolve();
        },
      });
      await tookOver.promise;
      // Pulling again: the partitions were lost (no commit possible), and the member rejoins.
      const nextPull = slow.poll({ timeoutMs: 10_000 });
      assert.deepEqual(await lost.promise, [`${topic}-0`, `${topic}-1`, `${topic}-2`]);
      await eventually(() => slow.assignment().length > 0, "the slow member rejoining");
      await nextPull;
    });

    it("static membership: a restart with the same groupInstanceId takes its partitions back without a rebalance", async () => {
      const topic = uniqueName("static");
      const groupId = uniqueName("group");
      await produce(broker.bootstrap, topic, keyedMessages(3));
      const rebalances: string[] = [];
      const stable = consumer({ groupId, groupInstanceId: "stable" });
      const stableAssigned = deferred();
      await stable.subscribe({
        topics: [topic],
        onPartitionsAssigned: () => {
          rebalances.push("stable assigned");
          stableAssigned.resolve();
        },
        onPartitionsRevoked: () => void rebalances.push("stable revoked"),
      });
      await stableAssigned.promise;
      const joined = deferred<string[]>();
      const restarting = consumer({ groupId, groupInstanceId: "restarting" });
      // Cooperatively, the first round gives the newcomer nothing: it waits for the other to let go.
      await restarting.subscribe({
        topics: [topic],
        onPartitionsAssigned: (p) => {
          if (p.length > 0) joined.resolve(labels(p));
        },
      });
      const owned = await joined.promise;
      // The other member: its first assignment, then the round where it let a partition go, then the one that moved it.
      await eventually(() => rebalances.filter((e) => e === "stable assigned").length === 3, "the rebalance to end");
      assert.equal(stable.assignment().length + owned.length, 3);
      rebalances.length = 0;
      await restarting.close();
      const again = deferred<string[]>();
      const restarted = consumer({ groupId, groupInstanceId: "restarting" });
      await restarted.subscribe({ topics: [topic], onPartitionsAssigned: (p) => again.resolve(labels(p)) });
      assert.deepEqual(await again.promise, owned);
      // A rebalance would reach the other member within a heartbeat or two.
      await new Promise((resolve) => setTimeout(resolve, 10 * FAST_GROUP.heartbeatIntervalMs));
      assert.deepEqual(rebalances, []);
    });
  });

  describe("assignors and protocols", () => {
    it("uses a custom assignor the members share", async () => {
      const topic = uniqueName("custom");
      const groupId = uniqueName("group");
      await produce(broker.bootstrap, topic, keyedMessages(3));
      const allToFirst: Assignor = {
        name: "all-to-first",
        rebalanceProtocol: "eager",
        assign(members, partitionCounts) {
          const [first] = [...members].sort((a, b) => (a.memberId < b.memberId ? -1 : 1));
          return new Map(
            members.map((m) => [
              m.memberId,
              m === first ? [...partitionCounts].map(([t, n]) => ({ topic: t, partitions: [...Array(n).keys()] })) : [],
            ]),
          );
        },
      };
      const members = [
        consumer({ groupId, assignors: [allToFirst] }),
        consumer({ groupId, assignors: [allToFirst, "range"] }),
      ];
      for (const member of members) await member.subscribe({ topics: [topic] });
      await eventually(
        () =>
          members
            .map((m) => m.assignment().length)
            .sort()
            .join() === "0,3",
        "one member owning everything",
      );
    });

    it("fails with INCONSISTENT_GROUP_PROTOCOL when the group's members share no assignor", async () => {
      const topic = uniqueName("inconsistent");
      const groupId = uniqueName("group");
      await produce(broker.bootstrap, topic, keyedMessages(1));
      const ranged = consumer({ groupId, assignors: ["range"] });
      const joined = deferred();
      await ranged.subscribe({ topics: [topic], onPartitionsAssigned: () => joined.resolve() });
      await joined.promise;
      const other = consumer({ groupId, assignors: ["roundrobin"] });
      await other.subscribe({ topics: [topic] });
      for (let pull = 0; pull < 2; pull++) {
        await assert.rejects(other.poll({ timeoutMs: 5_000 }), { code: "INCONSISTENT_GROUP_PROTOCOL" });
      }
    });

    it("a second consumer with the same groupInstanceId fences the first, which fails with FENCED_INSTANCE_ID", async () => {
      const topic = uniqueName("fenced");
      const groupId = uniqueName("group");
      await produce(broker.bootstrap, topic, keyedMessages(1));
      const first = consumer({ groupId, groupInstanceId: "twin" });
      const firstJoined = deferred();
      await first.subscribe({ topics: [topic], onPartitionsAssigned: () => firstJoined.resolve() });
      await firstJoined.promise;
      const second = consumer({ groupId, groupInstanceId: "twin" });
      const secondJoined = deferred();
      await second.subscribe({ topics: [topic], onPartitionsAssigned: () => secondJoined.resolve() });
      await secondJoined.promise;
      await assert.rejects(first.poll({ timeoutMs: 5_000 }), { code: "FENCED_INSTANCE_ID" });
      assert.equal(second.assignment().length, 3);
    });
  });

  describe("positions", () => {
    it("starts at the end (latest), the start (earliest) or a time, without a committed offset", async () => {
      const topic = uniqueName("reset");
      await produce(
        broker.bootstrap,
        topic,
        Array.from({ length: 10 }, (_, i) => ({ value: `old-${i}`, partition: 0, timestamp: 1_000_000 + i * 10 })),
      );
      const latest = consumer<string>({ groupId: uniqueName("group"), valueDeserializer: "string" });
      const earliest = consumer<string>({
        groupId: uniqueName("group"),
        valueDeserializer: "string",
        autoOffsetReset: "earliest",
      });
      const byTime = consumer<string>({
        groupId: uniqueName("group"),
        valueDeserializer: "string",
        autoOffsetReset: { timestamp: new Date(1_000_045) },
      });
      for (const c of [latest, earliest, byTime]) await c.assign([{ topic, partition: 0 }]);
      await eventually(() => latest.position({ topic, partition: 0 }) !== undefined, "the latest position");
      await produce(broker.bootstrap, topic, [{ value: "new", partition: 0 }]);
      assert.deepEqual(
        (await consume(latest, 1)).map((m) => m.value),
        ["new"],
      );
      assert.deepEqual(
        (await consume(earliest, 11)).map((m) => m.value),
        [...Array.from({ length: 10 }, (_, i) => `old-${i}`), "new"],
      );
      assert.deepEqual(
        (await consume(byTime, 6)).map((m) => m.value),
        ["old-5", "old-6", "old-7", "old-8", "old-9", "new"],
      );
    });

    it('autoOffsetReset "none" reports BROOK_NO_OFFSET until seek() chooses a position', async () => {
      const topic = uniqueName("none");
      await produce(broker.bootstrap, topic, [{ value: "a", partition: 0 }]);
      const reader = consumer({ groupId: uniqueName("group"), autoOffsetReset: "none" });
      await reader.assign([{ topic, partition: 0 }]);
      await assert.rejects(reader.poll({ timeoutMs: 5_000 }), { code: "BROOK_NO_OFFSET", topic, partition: 0 });
      reader.seek({ topic, partition: 0, offset: 0 });
      assert.equal((await consume(reader, 1))[0]?.offset, 0);
    });

    it("OFFSET_OUT_OF_RANGE resets by the policy, or is reported with none", async () => {
      const topic = uniqueName("out-of-range");
      await produce(
        broker.bootstrap,
        topic,
        keyedMessages(3).map((m) => ({ ...m, partition: 0 })),
      );
      const resetting = consumer({ autoOffsetReset: "earliest" });
      await resetting.assign([{ topic, partition: 0, offset: 1_000 }]);
      assert.deepEqual(
        (await consume(resetting, 3)).map((m) => m.offset),
        [0, 1, 2],
      );
      const strict = consumer({ autoOffsetReset: "none" });
      await strict.assign([{ topic, partition: 0, offset: 1_000 }]);
      await assert.rejects(strict.poll({ timeoutMs: 5_000 }), {
        code: "OFFSET_OUT_OF_RANGE",
        kafkaName: "OFFSET_OUT_OF_RANGE",
      });
    });

    it("seek() jumps to an offset, to the start or to the end; pause() holds a partition back while others flow", async () => {
      const topic = uniqueName("seek");
      for (const partition of [0, 1]) {
        await produce(
          broker.bootstrap,
          topic,
          Array.from({ length: 5 }, (_, i) => ({ value: `p${partition}-${i}`, partition })),
        );
      }
      const reader = consumer<string>({ valueDeserializer: "string" });
      await reader.assign([
        { topic, partition: 0, offset: 0 },
        { topic, partition: 1, offset: 0 },
      ]);
      reader.pause([{ topic, partition: 1 }]);
      assert.deepEqual(reader.paused(), [{ topic, partition: 1 }]);
      assert.deepEqual(
        (await consume(reader, 5)).map((m) => m.value),
        ["p0-0", "p0-1", "p0-2", "p0-3", "p0-4"],
      );
      assert.deepEqual(await reader.poll({ timeoutMs: 300 }), [], "nothing from the paused partition");
      reader.seek({ topic, partition: 0, offset: 3 });
      assert.deepEqual(
        (await consume(reader, 2)).map((m) => m.value),
        ["p0-3", "p0-4"],
      );
      reader.seek({ topic, partition: 0, offset: "earliest" });
      assert.deepEqual(
        (await consume(reader, 1)).map((m) => m.value),
        ["p0-0"],
      );
      reader.seek({ topic, partition: 0, offset: "latest" });
      reader.resume([{ topic, partition: 1 }]);
      assert.deepEqual(
        (await consume(reader, 5)).map((m) => m.value),
        ["p1-0", "p1-1", "p1-2", "p1-3", "p1-4"],
      );
      await eventually(() => reader.position({ topic, partition: 0 }) === 5, "the position at the end");
      assert.throws(() => reader.seek({ topic, partition: 2, offset: 0 }), { code: "BROOK_NOT_ASSIGNED" });
      assert.throws(() => reader.pause([{ topic: "elsewhere", partition: 0 }]), { code: "BROOK_NOT_ASSIGNED" });
    });
  });

  describe("without a group", () => {
    it("assign() consumes the partitions given, from the offsets given", async () => {
      const topic = uniqueName("assign");
      await produce(
        broker.bootstrap,
        topic,
        Array.from({ length: 9 }, (_, i) => ({ value: `v${i}`, partition: i % 3 })),
      );
      const reader = consumer<string>({ valueDeserializer: "string", autoOffsetReset: "earliest" });
      await reader.assign([
        { topic, partition: 0 },
        { topic, partition: 2, offset: 2 },
      ]);
      const values = (await consume(reader, 4)).map((m) => m.value).sort();
      assert.deepEqual(values, ["v0", "v3", "v6", "v8"]);
      assert.deepEqual(labels(reader.assignment()), [`${topic}-0`, `${topic}-2`]);
      await assert.rejects(reader.commit(), { code: "BROOK_NO_GROUP" });
      await reader.assign([{ topic, partition: 1 }]);
      assert.deepEqual(labels(reader.assignment()), [`${topic}-1`]);
      assert.deepEqual((await consume(reader, 3)).map((m) => m.value).sort(), ["v1", "v4", "v7"]);
    });

    it("assign() with a groupId starts at the group's commits and commits as a simple consumer", async () => {
      const topic = uniqueName("assign-group");
      const groupId = uniqueName("group");
      await produce(
        broker.bootstrap,
        topic,
        keyedMessages(6).map((m) => ({ ...m, partition: 0 })),
      );
      const first = consumer({ groupId, autoOffsetReset: "earliest" });
      await first.assign([{ topic, partition: 0 }]);
      await first.commit(await consume(first, 4));
      await first.close();
      const second = consumer({ groupId });
      await second.assign([{ topic, partition: 0 }]);
      assert.deepEqual(
        (await consume(second, 2)).map((m) => m.offset),
        [4, 5],
      );
    });
  });

  describe("deserializers", () => {
    it("json, string, buffer and functions; a failing one rejects at its message, and seek() skips it", async () => {
      const topic = uniqueName("json");
      await produce(broker.bootstrap, topic, [
        { key: "a", value: JSON.stringify({ n: 1 }), partition: 0 },
        { key: "b", value: "{not json", partition: 0 },
        { key: "c", value: JSON.stringify([2]), partition: 0 },
      ]);
      const reader = consumer<unknown, number>({
        valueDeserializer: "json",
        keyDeserializer: (bytes) => (bytes?.[0] ?? 0) - 96,
      });
      await reader.assign([{ topic, partition: 0, offset: 0 }]);
      const [first] = await consume(reader, 1);
      assert.deepEqual([first?.key, first?.value], [1, { n: 1 }]);
      const failure = await reader.poll().then(
        () => undefined,
        (error: BrookError) => error,
      );
      assert.ok(failure instanceof BrookError);
      assert.equal(failure.code, "BROOK_DESERIALIZATION");
      assert.match(failure.message, new RegExp(`${topic}-0 offset 1`));
      await assert.rejects(reader.poll(), { code: "BROOK_DESERIALIZATION" }, "the same message again");
      reader.seek({ topic, partition: 0, offset: 2 });
      const [third] = await consume(reader, 1);
      assert.deepEqual([third?.key, third?.value], [3, [2]]);
    });
  });

  it("is what the package exports, with its assignors and deserializers", () => {
    assert.equal(brook.Consumer, Consumer);
    assert.deepEqual(
      [brook.rangeAssignor.name, brook.roundRobinAssignor.name, brook.cooperativeStickyAssignor.name],
      ["range", "roundrobin", "cooperative-sticky"],
    );
    assert.equal(brook.deserializers.string(Buffer.from("é"), "t"), "é");
  });

  describe("bad input", () => {
    it("rejects invalid options synchronously with BROOK_INVALID_OPTION", () => {
      const invalid: Record<string, unknown>[] = [
        { groupId: "" },
        { groupInstanceId: "x" },
        { groupId: "g", groupInstanceId: 5 },
        { sessionTimeoutMs: -1 },
        { sessionTimeoutMs: 1000, heartbeatIntervalMs: 1000 },
        { maxPollIntervalMs: 1.5 },
        { maxPollIntervalMs: 2 ** 31 },
        { fetchMaxWaitMs: -1 },
        { assignors: [] },
        { assignors: ["sticky"] },
        { assignors: ["range", "range"] },
        { assignors: [{ name: "custom" }] },
        { autoOffsetReset: "beginning" },
        { autoOffsetReset: { timestamp: -5 } },
        { isolationLevel: "read_dirty" },
        { fetchMaxBytes: 0 },
        { autoCommit: "yes" },
        { valueDeserializer: "xml" },
        { brokers: [] },
        { brokers: ["no-port"] },
      ];
      for (const options of invalid) {
        assert.throws(
          () => new Consumer({ brokers: [broker.bootstrap], ...options } as never),
          { code: "BROOK_INVALID_OPTION" },
          JSON.stringify(options),
        );
      }
    });

    it("rejects a subscription to a topic that does not exist (auto-creation off) with BROOK_UNKNOWN_TOPIC", async () => {
      const reader = consumer({ groupId: uniqueName("group") });
      await assert.rejects(reader.subscribe({ topics: [uniqueName("missing")] }), { code: "BROOK_UNKNOWN_TOPIC" });
      await assert.rejects(reader.assign([{ topic: uniqueName("missing"), partition: 0 }]), {
        code: "BROOK_UNKNOWN_TOPIC",
      });
      const topic = uniqueName("exists");
      await produce(broker.bootstrap, topic, [{ value: "x" }]);
      await assert.rejects(reader.assign([{ topic, partition: 3 }]), { code: "BROOK_UNKNOWN_PARTITION" });
      const creating = consumer({ groupId: uniqueName("group"), allowAutoTopicCreation: true });
      await creating.subscribe({ topics: [uniqueName("created")] });
    });

    it("rejects calls that make no sense with typed errors", async () => {
      const groupless = consumer();
      await assert.rejects(groupless.subscribe({ topics: ["t"] }), { code: "BROOK_NO_GROUP" });
      const reader = consumer({ groupId: uniqueName("group") });
      await assert.rejects(reader.subscribe({ topics: [] }), { code: "BROOK_INVALID_ARGUMENT" });
      await assert.rejects(reader.subscribe({ topics: "t" as never }), { code: "BROOK_INVALID_ARGUMENT" });
      await assert.rejects(reader.assign([{ topic: "t", partition: -1 }]), { code: "BROOK_INVALID_ARGUMENT" });
      await assert.rejects(reader.commit({ offsets: [{ topic: "t", partition: 0, offset: -2 }] }), {
        code: "BROOK_INVALID_ARGUMENT",
      });
      await assert.rejects(reader.commit([{ topic: "t", partition: 0, offset: 1 }] as never), {
        code: "BROOK_INVALID_ARGUMENT",
      });
      await assert.rejects(reader.poll({ maxMessages: 0 }), { code: "BROOK_INVALID_ARGUMENT" });
      const topic = uniqueName("mode");
      await produce(broker.bootstrap, topic, [{ value: "x" }]);
      await reader.assign([{ topic, partition: 0 }]);
      await assert.rejects(reader.subscribe({ topics: [topic] }), { code: "BROOK_INVALID_STATE" });
      await reader.close();
      await assert.rejects(reader.poll(), { code: "BROOK_CLOSED" });
      await assert.rejects(reader.assign([]), { code: "BROOK_CLOSED" });
      assert.deepEqual(await reader[Symbol.asyncIterator]().next(), { done: true, value: undefined });
    });

    it("rejects with a connection error when no broker can be reached, without hanging", async () => {
      const unreachable = new Consumer({
        brokers: ["127.0.0.1:1"],
        groupId: "g",
        retry: { timeoutMs: 500, initialDelayMs: 10, maxDelayMs: 50 },
      });
      await assert.rejects(unreachable.subscribe({ topics: ["t"] }), (error: BrookError) => {
        assert.equal(error.code, "BROOK_CONNECTION_FAILED");
        return true;
      });
      await unreachable.close();
    });

    it("reports a broker that goes away mid-stream on the next pull instead of hanging, and the pending poll of close() resolves", async () => {
      const lonely = await startBroker({ defaultPartitions: 1 });
      const topic = uniqueName("vanishing");
      await produce(lonely.bootstrap, topic, [{ value: "x" }]);
      const reader = new Consumer({
        brokers: [lonely.bootstrap],
        fetchMaxWaitMs: 50,
        retry: { timeoutMs: 500, initialDelayMs: 10, maxDelayMs: 50 },
      });
      await reader.assign([{ topic, partition: 0, offset: 0 }]);
      await consume(reader, 1);
      await lonely.stop();
      const failure = await reader.poll().then(
        () => undefined,
        (error: BrookError) => error,
      );
      assert.ok(failure instanceof BrookError && failure.retriable, `a retriable connection error, not ${failure}`);
      const pending = reader.poll();
      await reader.close();
      assert.deepEqual(await pending, []);
    });

    it("reports an unexpected SyncGroup error once and joins again, as librdkafka's mock cluster makes a late follower do", async (t) => {
      const SYNC_GROUP = API_CODECS.SyncGroup.apiKey;
      let refused = 0;
      const gateway = await startProxiedBroker(
        {
          onResponse: (info, payload) => {
            if (info.apiKey !== SYNC_GROUP || refused > 0) return undefined;
            refused++;
            const headerBytes = responseHeaderVersion(info.apiKey, info.apiVersion) === 1 ? 5 : 4;
            const response = API_CODECS.SyncGroup.decodeResponse(new Reader(payload, headerBytes), info.apiVersion);
            const refusal = { ...response, errorCode: ErrorCode.INVALID_REQUEST, assignment: Buffer.alloc(0) };
            const bytes = encodeResponsePayload(info.apiKey, info.apiVersion, info.correlationId, (w) =>
              API_CODECS.SyncGroup.encodeResponse(w, info.apiVersion, refusal),
            );
            return { replace: Buffer.concat(bytes) };
          },
        },
        { defaultPartitions: 1, ...GROUP_BROKER_OPTIONS },
      );
      t.after(() => gateway.stop());
      const topic = uniqueName("refused-sync");
      await produce(gateway.bootstrap, topic, keyedMessages(5));
      const member = new Consumer<string, string>({
        brokers: [gateway.bootstrap],
        groupId: uniqueName("group"),
        autoOffsetReset: "earliest",
        keyDeserializer: "string",
        valueDeserializer: "string",
        retry: FAST_RETRY,
        ...FAST_GROUP,
      });
      t.after(() => member.close());
      await member.subscribe({ topics: [topic] });
      const failure = await member.poll({ timeoutMs: 5_000 }).then(
        () => undefined,
        (error: BrookError) => error,
      );
      assert.ok(failure instanceof BrookError, `the refusal is reported, not ${failure}`);
      assert.equal(failure.code, "INVALID_REQUEST");
      assert.equal(failure.retriable, true);
      const values = (await consume(member, 5)).map((m) => m.value).sort();
      assert.deepEqual(
        values,
        keyedMessages(5)
          .map((m) => m.value)
          .sort(),
        "then the member joins again and reads",
      );
      assert.equal(refused, 1);
      assert.ok(gateway.proxy.requests.filter((r) => r.apiKey === SYNC_GROUP).length >= 2, "a second SyncGroup");
    });
  });
});
