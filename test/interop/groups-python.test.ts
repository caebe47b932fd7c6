// Debian's Python clients in consumer groups against a real brook process, each member a Python
// process of its own. confluent-kafka (librdkafka): three members share a topic and read 30,000
// messages once each, a member that leaves or is killed is taken over without a message lost,
// a static member restarts without a rebalance, and commits survive a broker SIGKILL.
// kafka-python (JoinGroup v2, no KIP-394 member ids): the same sharing, and resuming at commits.
import { after, afterEach, before, describe, test } from "node:test";
import { startPythonMember } from "../helpers/interop-groups.js";
import {
  type GroupClient,
  GroupTestBed,
  resumeAtCommits,
  shareThenLoseAMember,
  staticMemberRestarts,
} from "../helpers/interop-groups-scenarios.js";
import {
  CONFLUENT_KAFKA,
  hasPythonModule,
  KAFKA_PYTHON,
  type PythonClient,
  pythonProduce,
} from "../helpers/interop-python.js";
import { skipUnless } from "../helpers/requirements.js";

/** Members of the client's own kind; messages are produced with confluent-kafka, the faster producer. */
function groupClient(client: PythonClient): GroupClient {
  return {
    name: client.module.replace("_", "-"),
    startMember: (options) => startPythonMember(client, options),
    async produce(bootstrap, topic, messages) {
      await pythonProduce(CONFLUENT_KAFKA, bootstrap, topic, messages);
    },
  };
}

describe("Python consumer groups against a brook process", { timeout: 120_000 }, () => {
  let bed: GroupTestBed;

  before(async () => {
    bed = await GroupTestBed.start();
  });
  afterEach(async () => {
    await bed.killMembers();
  });
  after(async () => {
    await bed?.close();
  });

  const available = (t: Parameters<typeof skipUnless>[0], client: PythonClient) =>
    skipUnless(
      t,
      hasPythonModule(client.module) && hasPythonModule(CONFLUENT_KAFKA.module),
      `${client.name} and ${CONFLUENT_KAFKA.name} (Debian python3 modules)`,
    );

  describe("confluent-kafka", () => {
    const confluent = groupClient(CONFLUENT_KAFKA);

    test("three members share 6 partitions 2/2/2, read 30,000 messages once each, and take over from one that leaves", async (t) => {
      if (!available(t, CONFLUENT_KAFKA)) return;
      await shareThenLoseAMember(bed, confluent, { messages: 30_000, how: "stop" });
    });

    test("a SIGKILLed member's partitions are taken over when its session times out, with no message lost", async (t) => {
      if (!available(t, CONFLUENT_KAFKA)) return;
      await shareThenLoseAMember(bed, confluent, { messages: 6_000, how: "kill" });
    });

    test("a static member (group.instance.id) restarts and keeps its partitions without a rebalance", async (t) => {
      if (!available(t, CONFLUENT_KAFKA)) return;
      await staticMemberRestarts(bed, confluent, 3_000);
    });

    test("the committed offsets survive a broker SIGKILL, and a new member starts there", async (t) => {
      if (!available(t, CONFLUENT_KAFKA)) return;
      await resumeAtCommits(bed, confluent, { messages: 4_000, restart: "kill" });
    });
  });

  describe("kafka-python", () => {
    const kafkaPython = groupClient(KAFKA_PYTHON);

    test("three members share 6 partitions 2/2/2, read 30,000 messages once each, and take over from one that leaves", async (t) => {
      if (!available(t, KAFKA_PYTHON)) return;
      await shareThenLoseAMember(bed, kafkaPython, { messages: 30_000, how: "stop" });
    });

    test("a new member starts exactly at the offsets committed by one that read half and closed", async (t) => {
      if (!available(t, KAFKA_PYTHON)) return;
      await resumeAtCommits(bed, kafkaPython, { messages: 4_000 });
    });
  });
});
