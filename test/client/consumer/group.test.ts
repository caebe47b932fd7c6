// Consumer groups against a real brook process: members joining and leaving while messages
// flow, with every message consumed exactly once by the offsets the group committed.
import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";
import { Consumer, type ConsumerMessage, type TopicPartition } from "../../../src/client/consumer.js";
import { Producer, type RecordMetadata } from "../../../src/client/producer.js";
import { type BrokerProcess, startBrokerProcess } from "../../helpers/broker-process.js";
import { eventually, labels, uniqueName } from "./helpers.js";

const PARTITIONS = 6;
/** brook's group.min.session.timeout.ms, as Kafka's: the shortest session a member may ask for. */
const SESSION_TIMEOUT_MS = 6_000;

interface Member {
  name: string;
  consumer: Consumer<string, null>;
  /** What each rebalance did to this member, in order. */
  events: { kind: "assigned" | "revoked" | "lost"; partitions: string[] }[];
  /** Stops reading and closes the consumer (it leaves the group). */
  close(): Promise<void>;
}

/** Every message read by any member, with who read it. */
interface Delivery {
  member: string;
  message: ConsumerMessage<string, null>;
}

describe("Consumer groups on a brook process", () => {
  let broker: BrokerProcess;

  before(async () => {
    broker = await startBrokerProcess({ args: ["--memory", "--default-partitions", String(PARTITIONS)] });
  });
  /** Members still running, stopped after each test even when it fails. */
  const members: Member[] = [];
  afterEach(async () => {
    for (const member of members.splice(0)) await member.close();
  });
  after(async () => {
    await broker.destroy();
  });

  /** Starts a member that polls until stopped, recording what it reads. */
  async function startMember(
    name: string,
    groupId: string,
    topic: string,
    deliveries: Delivery[],
    options: Partial<ConstructorParameters<typeof Consumer<string, null>>[0]> = {},
  ): Promise<Member> {
    const consumer = new Consumer<string, null>({
      brokers: [broker.bootstrap],
      groupId,
      clientId: name,
      autoOffsetReset: "earliest",
      valueDeserializer: "string",
      keyDeserializer: () => null,
      sessionTimeoutMs: SESSION_TIMEOUT_MS,
      heartbeatIntervalMs: 200,
      autoCommitIntervalMs: 100,
      fetchMaxWaitMs: 100,
      ...options,
    });
    const events: Member["events"] = [];
    const record = (kind: Member["events"][number]["kind"]) => (partitions: TopicPartition[]) => {
      events.push({ kind, partitions: labels(partitions) });
    };
    await consumer.subscribe({
      topics: [topic],
      onPartitionsAssigned: record("assigned"),
      onPartitionsRevoked: record("revoked"),
      onPartitionsLost: record("lost"),
    });
    let running = true;
    const reading = (async () => {
      while (running) {
        for (const message of await consumer.poll({ timeoutMs: 100 })) deliveries.push({ member: name, message });
      }
    })();
    let closing: Promise<void> | undefined;
    const member: Member = {
      name,
      consumer,
      events,
      close() {
        running = false;
        closing ??= reading.finally(() => consumer.close());
        return closing;
      },
    };
    members.push(member);
    return member;
  }

  /** Produces `count` messages in small sends, one after the other, so they keep flowing during a test. */
  function produceSteadily(topic: string, count: number): { done: Promise<RecordMetadata[]>; sent: () => number } {
    const producer = new Producer({ brokers: [broker.bootstrap], lingerMs: 1 });
    let sent = 0;
    const done = (async () => {
      const stored: RecordMetadata[] = [];
      while (sent < count) {
        const messages = Array.from({ length: Math.min(50, count - sent) }, (_, i) => ({
          key: `key-${sent + i}`,
          value: `${sent + i}`,
        }));
        stored.push(...(await producer.send({ topic, messages })));
        sent += messages.length;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      await producer.close();
      return stored;
    })();
    return { done, sent: () => sent };
  }

  function checkExactlyOnce(stored: RecordMetadata[], deliveries: Delivery[]) {
    const seen = new Map<string, string>();
    for (const { member, message } of deliveries) {
      const where = `${message.partition}@${message.offset}`;
      const first = seen.get(where);
      assert.equal(first, undefined, `${where} read by ${first} and again by ${member}`);
      seen.set(where, member);
    }
    const expected = stored.map((m) => `${m.partition}@${m.offset}`).sort();
    assert.deepEqual([...seen.keys()].sort(), expected, "every message read");
  }

  it("cooperative-sticky: a third member joins and one leaves mid-stream; partitions that stay keep flowing, no message is lost or read twice", async () => {
    const topic = uniqueName("cooperative");
    const groupId = uniqueName("group");
    const total = 6_000;
    const deliveries: Delivery[] = [];
    const production = produceSteadily(topic, total);
    await eventually(() => production.sent() > 0, "the topic to exist");

    const a = await startMember("a", groupId, topic, deliveries);
    const b = await startMember("b", groupId, topic, deliveries);
    await eventually(
      () => a.consumer.assignment().length === 3 && b.consumer.assignment().length === 3,
      "a and b sharing the partitions",
    );
    const aBefore = labels(a.consumer.assignment());
    const bBefore = labels(b.consumer.assignment());
    await eventually(() => deliveries.length > 1_000, "messages to flow");

    const aEventsBefore = a.events.length;
    const bEventsBefore = b.events.length;
    const c = await startMember("c", groupId, topic, deliveries);
    await eventually(() => c.consumer.assignment().length === 2, "c taking its share");
    const cPartitions = labels(c.consumer.assignment());
    // Only what moved to c was revoked; a and b kept consuming the rest throughout.
    const revokedFrom = (member: Member, since: number) =>
      member.events
        .slice(since)
        .filter((e) => e.kind === "revoked")
        .flatMap((e) => e.partitions);
    const revokedFromA = revokedFrom(a, aEventsBefore);
    const revokedFromB = revokedFrom(b, bEventsBefore);
    assert.deepEqual([...revokedFromA, ...revokedFromB].sort(), cPartitions);
    assert.equal(revokedFromA.length, 1);
    assert.equal(revokedFromB.length, 1);
    assert.ok(labels(a.consumer.assignment()).every((p) => aBefore.includes(p)));
    assert.ok(labels(b.consumer.assignment()).every((p) => bBefore.includes(p)));
    const consumedDuringJoin = deliveries.length;
    await eventually(() => deliveries.length > consumedDuringJoin + 500, "messages to keep flowing");

    // a leaves: b and c take its partitions, revoking nothing of their own.
    const bEventsBeforeLeave = b.events.length;
    const cEventsBeforeLeave = c.events.length;
    await a.close();
    await eventually(
      () => b.consumer.assignment().length + c.consumer.assignment().length === PARTITIONS,
      "b and c taking over a's partitions",
    );
    assert.deepEqual(revokedFrom(b, bEventsBeforeLeave), []);
    assert.deepEqual(revokedFrom(c, cEventsBeforeLeave), []);
    const stored = await production.done;
    await eventually(
      () => deliveries.length >= total,
      `all ${total} messages read (${deliveries.length} so far)`,
      30_000,
    );
    await b.close();
    await c.close();
    assert.ok(!a.events.some((e) => e.kind === "lost"), "nobody lost partitions");
    checkExactlyOnce(stored, deliveries);
  });

  it("eager (range): members revoke everything before each rebalance; still exactly once", async () => {
    const topic = uniqueName("eager");
    const groupId = uniqueName("group");
    const total = 3_000;
    const deliveries: Delivery[] = [];
    const production = produceSteadily(topic, total);
    await eventually(() => production.sent() > 0, "the topic to exist");
    const a = await startMember("a", groupId, topic, deliveries, { assignors: ["range"] });
    await eventually(() => a.consumer.assignment().length === PARTITIONS, "a owning the topic");
    await eventually(() => deliveries.length > 500, "messages to flow");
    const b = await startMember("b", groupId, topic, deliveries, { assignors: ["range"] });
    await eventually(
      () => a.consumer.assignment().length === 3 && b.consumer.assignment().length === 3,
      "b taking half",
    );
    // Range hands out contiguous ranges: a keeps 0-2, b gets 3-5.
    assert.deepEqual(
      labels(a.consumer.assignment()),
      [0, 1, 2].map((p) => `${topic}-${p}`),
    );
    assert.deepEqual(a.events.map((e) => [e.kind, e.partitions.length]).slice(0, 3), [
      ["assigned", 6],
      ["revoked", 6],
      ["assigned", 3],
    ]);
    const stored = await production.done;
    await eventually(
      () => deliveries.length >= total,
      `all ${total} messages read (${deliveries.length} so far)`,
      30_000,
    );
    await a.close();
    await b.close();
    checkExactlyOnce(stored, deliveries);
  });
});
