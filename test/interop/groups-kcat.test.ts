// kcat -G (librdkafka 2.0.2's balanced consumer) groups against a real brook process: three
// processes share a topic and read 30,000 messages once each; a member that leaves cleanly or
// is killed is taken over without a message lost; two groups each read every message; a static
// member restarts without the group rebalancing.
import { after, afterEach, before, describe, test } from "node:test";
import { startKcatMember } from "../helpers/interop-groups.js";
import {
  type GroupClient,
  GroupTestBed,
  shareThenLoseAMember,
  staticMemberRestarts,
  twoGroupsOnOneTopic,
} from "../helpers/interop-groups-scenarios.js";
import { hasKcat, kcatProduce } from "../helpers/interop-kcat.js";
import { skipUnless } from "../helpers/requirements.js";

const kcat: GroupClient = {
  name: "kcat",
  startMember: (options) => startKcatMember(options),
  produce: (bootstrap, topic, messages) => kcatProduce(bootstrap, topic, messages),
};

describe("kcat consumer groups against a brook process", { timeout: 90_000 }, () => {
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

  test("three members share 6 partitions 2/2/2, read 30,000 messages once each, and take over from one that leaves", async (t) => {
    if (!skipUnless(t, hasKcat(), "kcat")) return;
    await shareThenLoseAMember(bed, kcat, { messages: 30_000, how: "stop" });
  });

  test("a SIGKILLed member's partitions are taken over when its session times out, with no message lost", async (t) => {
    if (!skipUnless(t, hasKcat(), "kcat")) return;
    await shareThenLoseAMember(bed, kcat, { messages: 6_000, how: "kill" });
  });

  test("two groups on one topic each read every message", async (t) => {
    if (!skipUnless(t, hasKcat(), "kcat")) return;
    await twoGroupsOnOneTopic(bed, kcat, 5_000);
  });

  test("a static member (group.instance.id) restarts and keeps its partitions without a rebalance", async (t) => {
    if (!skipUnless(t, hasKcat(), "kcat")) return;
    await staticMemberRestarts(bed, kcat, 3_000);
  });
});
